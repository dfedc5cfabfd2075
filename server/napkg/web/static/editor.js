/* The SPARQL editor of the NAP knowledge graph: YASGUI (vendored in static/yasgui/), set up from
 * editor-config.json ({endpoint, prefixes, examples?}) so that it talks to this server only. */
(function () {
  "use strict";

  // Used when editor-config.json cannot be read, or lacks a prefix the built-in queries need.
  var FALLBACK_PREFIXES = {
    nap: "https://w3id.org/nap-bhr/def#",
    report: "https://w3id.org/nap-bhr/id/report/",
    dct: "http://purl.org/dc/terms/",
    skos: "http://www.w3.org/2004/02/skos/core#"
  };

  // Shown when editor-config.json has no "examples" list. Each one is checked against the graph by
  // tests/test_browser.py.
  var BUILTIN_EXAMPLES = [
    {
      name: "Action points and their 2024 status",
      query: [
        "PREFIX nap: <https://w3id.org/nap-bhr/def#>",
        "PREFIX report: <https://w3id.org/nap-bhr/id/report/>",
        "PREFIX dct: <http://purl.org/dc/terms/>",
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
        "",
        "# The 33 action points of the NAP with the status the 2024 progress report gives them.",
        "SELECT ?notation ?title ?status ?ap",
        "WHERE {",
        "  ?ap a nap:ActionPoint ;",
        "      skos:notation ?notation ;",
        "      dct:title ?title .",
        "  FILTER(lang(?title) = \"en\")",
        "  ?sa nap:assessedActionPoint ?ap ;",
        "      nap:inReport report:2024 ;",
        "      nap:status/skos:prefLabel ?status .",
        "  FILTER(lang(?status) = \"en\")",
        "}",
        "ORDER BY ?notation"
      ].join("\n")
    },
    {
      name: "Action points per status",
      query: [
        "PREFIX nap: <https://w3id.org/nap-bhr/def#>",
        "PREFIX report: <https://w3id.org/nap-bhr/id/report/>",
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
        "",
        "# How many action points the 2024 progress report gives each status.",
        "SELECT ?status ?label (COUNT(DISTINCT ?ap) AS ?actionPoints)",
        "WHERE {",
        "  ?sa nap:assessedActionPoint ?ap ;",
        "      nap:inReport report:2024 ;",
        "      nap:status ?status .",
        "  ?status skos:prefLabel ?label .",
        "  FILTER(lang(?label) = \"en\")",
        "}",
        "GROUP BY ?status ?label",
        "ORDER BY DESC(?actionPoints) ?label"
      ].join("\n")
    },
    {
      name: "Action points that mention the CSDDD",
      query: [
        "PREFIX nap: <https://w3id.org/nap-bhr/def#>",
        "PREFIX law: <https://w3id.org/nap-bhr/id/legal-instrument/>",
        "PREFIX dct: <http://purl.org/dc/terms/>",
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
        "",
        "# Action points that mention the EU Corporate Sustainability Due Diligence Directive",
        "# (Directive (EU) 2024/1760), with their Dutch and English titles.",
        "SELECT ?notation ?titel ?title ?ap",
        "WHERE {",
        "  ?ap nap:mentions law:csddd ;",
        "      skos:notation ?notation ;",
        "      dct:title ?titel , ?title .",
        "  FILTER(lang(?titel) = \"nl\" && lang(?title) = \"en\")",
        "}",
        "ORDER BY ?notation"
      ].join("\n")
    },
    {
      name: "Responsible organisations per action point",
      query: [
        "PREFIX nap: <https://w3id.org/nap-bhr/def#>",
        "PREFIX dct: <http://purl.org/dc/terms/>",
        "PREFIX prov: <http://www.w3.org/ns/prov#>",
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>",
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
        "",
        "# The organisations responsible for each action point.",
        "SELECT ?notation ?title (GROUP_CONCAT(?name; separator=\" | \") AS ?organisations)",
        "WHERE {",
        "  ?ap a nap:ActionPoint ;",
        "      skos:notation ?notation ;",
        "      dct:title ?title ;",
        "      nap:responsibility/prov:agent ?org .",
        "  FILTER(lang(?title) = \"en\")",
        "  ?org rdfs:label ?name .",
        "  FILTER(lang(?name) = \"en\")",
        "}",
        "GROUP BY ?notation ?title",
        "ORDER BY ?notation"
      ].join("\n")
    },
    {
      name: "Organisations by number of action points",
      query: [
        "PREFIX nap: <https://w3id.org/nap-bhr/def#>",
        "PREFIX prov: <http://www.w3.org/ns/prov#>",
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>",
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
        "",
        "# The organisations responsible for the most action points, and in which roles.",
        "SELECT ?org ?name (COUNT(DISTINCT ?ap) AS ?actionPoints)",
        "       (GROUP_CONCAT(DISTINCT ?role; separator=\", \") AS ?roles)",
        "WHERE {",
        "  ?ap nap:responsibility ?responsibility .",
        "  ?responsibility prov:agent ?org ;",
        "                  prov:hadRole/skos:prefLabel ?role .",
        "  FILTER(lang(?role) = \"en\")",
        "  ?org rdfs:label ?name .",
        "  FILTER(lang(?name) = \"en\")",
        "}",
        "GROUP BY ?org ?name",
        "ORDER BY DESC(?actionPoints) ?name"
      ].join("\n")
    },
    {
      name: "Everything about action point 17",
      query: [
        "PREFIX ap: <https://w3id.org/nap-bhr/id/action-point/>",
        "",
        "# All triples about action point 17 (EU due diligence legislation).",
        "DESCRIBE ap:nap-2022-17"
      ].join("\n")
    }
  ];

  var statusEl = document.getElementById("editor-status");

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", !!isError);
    statusEl.hidden = !text;
  }

  function loadConfig() {
    var url = new URL("editor-config.json", document.baseURI);
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .catch(function (e) {
        console.warn("editor-config.json could not be read; using built-in settings", e);
        return {};
      });
  }

  function validExamples(list) {
    if (!Array.isArray(list)) return [];
    return list.filter(function (e) {
      return e && typeof e.name === "string" && e.name.trim() && typeof e.query === "string" && e.query.trim();
    });
  }

  function prologue(prefixes) {
    return Object.keys(prefixes).map(function (p) {
      return "PREFIX " + p + ": <" + prefixes[p] + ">";
    }).join("\n");
  }

  function defaultQuery(prefixes) {
    return prologue(prefixes) + "\n\n" + [
      "# The action points of the NAP, with their English titles.",
      "SELECT ?notation ?title ?ap",
      "WHERE {",
      "  ?ap a nap:ActionPoint ;",
      "      skos:notation ?notation ;",
      "      dct:title ?title .",
      "  FILTER(lang(?title) = \"en\")",
      "}",
      "ORDER BY ?notation",
      "LIMIT 10"
    ].join("\n");
  }

  // --- Completion from this graph instead of prefix.cc and the LOV API ------------------------------

  function localName(iri) {
    var cut = Math.max(iri.lastIndexOf("#"), iri.lastIndexOf("/"));
    return iri.slice(cut + 1);
  }

  var PN_LOCAL = /^[A-Za-z0-9_]([A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?$/;

  // The shortest way to write an IRI: a prefixed name with the query's own prefixes, else the graph's
  // (the prefixes completer then declares that prefix once the name is in the query), else <IRI>.
  function writeIri(yasqe, iri, prefixes) {
    var declared = yasqe.getPrefixesFromQuery();
    var tables = [declared, prefixes];
    for (var t = 0; t < tables.length; t++) {
      var best = null;
      Object.keys(tables[t]).forEach(function (p) {
        var ns = tables[t][p];
        if (ns && iri.indexOf(ns) === 0 && PN_LOCAL.test(iri.slice(ns.length)) && (!best || ns.length > best.ns.length)) {
          best = { p: p, ns: ns };
        }
      });
      if (best) return best.p + ":" + iri.slice(best.ns.length);
    }
    return "<" + iri + ">";
  }

  function installCompleters(Yasqe, endpoint, prefixes) {
    var prefixStrings = Object.keys(prefixes).sort().map(function (p) {
      return p + ": <" + prefixes[p] + ">";
    });
    var originalPrefixes = Yasqe.Autocompleters.prefixes;
    if (originalPrefixes) {
      // Not bulk: a bulk completer would cache the list in localStorage.
      Yasqe.registerAutocompleter(Object.assign({}, originalPrefixes, {
        bulk: false,
        persistenceId: undefined,
        get: function (yasqe, token) {
          var typed = token ? (token.autocompletionString || token.string || "").trim() : "";
          return prefixStrings.filter(function (s) { return s.indexOf(typed) === 0; });
        }
      }));
    }

    var cache = {};
    function termsOf(kind) {
      if (!cache[kind]) {
        var query = kind === "class"
          ? "SELECT DISTINCT ?term WHERE { ?s a ?term FILTER(isIRI(?term)) } ORDER BY ?term"
          : "SELECT DISTINCT ?term WHERE { ?s ?term ?o } ORDER BY ?term";
        cache[kind] = fetch(endpoint, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/sparql-results+json" },
          body: new URLSearchParams({ query: query })
        }).then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        }).then(function (json) {
          return json.results.bindings.map(function (b) { return b.term.value; });
        }).catch(function (e) {
          delete cache[kind];
          console.warn("could not fetch " + kind + " completions", e);
          return [];
        });
      }
      return cache[kind];
    }

    ["property", "class"].forEach(function (kind) {
      var original = Yasqe.Autocompleters[kind];
      if (!original) return;
      Yasqe.registerAutocompleter(Object.assign({}, original, {
        bulk: false,
        get: function (yasqe, token) {
          if (!token) return [];
          var typed = (token.autocompletionString || "").trim();
          if (!typed) return [];
          // A prefixed name whose prefix the query does not declare yet: expand it with the graph's.
          if (token.tokenPrefix && !token.tokenPrefixUri) {
            var p = token.tokenPrefix.slice(0, -1);
            if (prefixes[p]) typed = prefixes[p] + typed.slice(token.tokenPrefix.length);
          }
          return termsOf(kind).then(function (terms) {
            var hits;
            if (typed.indexOf(":") >= 0) {
              hits = terms.filter(function (iri) { return iri.indexOf(typed) === 0; });
            } else {
              var lower = typed.toLowerCase();  // a bare word: match local names
              hits = terms.filter(function (iri) { return localName(iri).toLowerCase().indexOf(lower) === 0; });
            }
            return hits.slice(0, 100);
          });
        },
        postProcessSuggestion: function (yasqe, token, suggestion) {
          return writeIri(yasqe, suggestion, prefixes);
        }
      }));
    });
  }

  // --- The page ----------------------------------------------------------------------------------------

  // A new tab: its table wraps long titles instead of cutting them off (YASR's "Ellipse" switch, off).
  function tabConfig(name, query) {
    return {
      name: name,
      yasqe: { value: query },
      yasr: { settings: { selectedPlugin: "table", pluginsConfig: { table: { isEllipsed: false } } } }
    };
  }

  function openExample(yasgui, example) {
    var tabs = yasgui._tabs || {};
    var found = null;
    Object.keys(tabs).forEach(function (id) {
      if (!found && tabs[id].getName() === example.name) found = tabs[id];
    });
    var tab;
    if (found) {
      yasgui.selectTabId(found.getId());
      tab = found;
      if (tab.getYasqe() && tab.getQuery() !== example.query) tab.setQuery(example.query);
    } else {
      tab = yasgui.addTab(true, tabConfig(example.name, example.query));
    }
    var yasqe = tab.getYasqe();
    if (yasqe) yasqe.focus();
    return tab;
  }

  function drawExamples(yasgui, examples) {
    var list = document.getElementById("examples");
    list.textContent = "";
    examples.forEach(function (example) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "example";
      button.textContent = example.name;
      button.title = "Open this query in a tab of the editor";
      button.addEventListener("click", function () { openExample(yasgui, example); });
      item.appendChild(button);
      list.appendChild(item);
    });
  }

  // The endpoint cuts results at its row limit and says so in a header; show that under the results.
  function watchTruncation(yasgui) {
    yasgui.on("query", function (_yasgui, tab) {
      var yasqe = tab.getYasqe();
      if (!yasqe || yasqe.__napWatched) return;
      yasqe.__napWatched = true;
      yasqe.on("queryResponse", function (_yasqe, response) {  // CodeMirror passes the editor first
        var yasr = tab.getYasr();
        if (!yasr) return;
        var note = yasr.rootEl.querySelector(".nap-truncated");
        var headers = (response && (response.header || (response.response && response.response.header))) || {};
        if (headers["x-result-truncated"] === "true") {
          if (!note) {
            note = document.createElement("p");
            note.className = "nap-truncated";
            note.setAttribute("role", "status");
            yasr.rootEl.insertBefore(note, yasr.rootEl.firstChild);
          }
          note.textContent = "This endpoint returns at most " + (headers["x-result-max-rows"] || "a limited number of") +
            " rows, and cut this result there. Page through the rest with LIMIT and OFFSET, or narrow the query down.";
        } else if (note) {
          note.remove();
        }
      });
    });
  }

  function start(config) {
    var Yasgui = window.Yasgui;
    if (!Yasgui) {
      setStatus("The editor could not be loaded (static/yasgui/yasgui.min.js).", true);
      return;
    }
    var endpoint = new URL(typeof config.endpoint === "string" && config.endpoint ? config.endpoint : "/sparql",
                           document.baseURI).href;
    var configPrefixes = config.prefixes && typeof config.prefixes === "object" ? config.prefixes : {};
    var prefixes = Object.assign({}, configPrefixes);
    Object.keys(FALLBACK_PREFIXES).forEach(function (p) {
      if (!prefixes[p]) prefixes[p] = FALLBACK_PREFIXES[p];
    });
    var examples = validExamples(config.examples);
    if (!examples.length) examples = BUILTIN_EXAMPLES;

    var link = document.getElementById("endpoint-link");
    link.href = endpoint;
    document.getElementById("endpoint-url").textContent = endpoint;

    installCompleters(Yasgui.Yasqe, endpoint, prefixes);

    var yasgui = new Yasgui(document.getElementById("editor"), {
      requestConfig: {
        endpoint: endpoint,
        method: "POST",
        acceptHeaderSelect: "application/sparql-results+json,*/*;q=0.9",
        acceptHeaderGraph: "text/turtle,*/*;q=0.9"
      },
      // The endpoint list offers this server only (YASGUI's default lists DBpedia and Wikidata).
      endpointCatalogueOptions: {
        getData: function () { return [{ endpoint: endpoint }]; }
      },
      copyEndpointOnNewTab: true,
      tabName: "Query",
      autoAddOnInit: false,  // the first tab is added below, with the table settings of tabConfig()
      yasqe: {
        value: defaultQuery(prefixes),
        collapsePrefixesOnLoad: false,
        editorHeight: "320px"
      },
      yasr: {
        prefixes: prefixes,
        defaultPlugin: "table"
      }
    });

    if (!Object.keys(yasgui._tabs || {}).length) {
      // First visit (YASGUI keeps the tabs of earlier visits in localStorage): the default query, with
      // every prefix of the graph declared and folded into one line.
      var first = yasgui.addTab(true, tabConfig("Query", defaultQuery(prefixes)));
      if (first.getYasqe()) first.getYasqe().collapsePrefixes(true);
    }
    drawExamples(yasgui, examples);
    watchTruncation(yasgui);
    setStatus("");
    window.napEditor = { yasgui: yasgui, config: config, endpoint: endpoint, prefixes: prefixes, examples: examples,
                         openExample: function (i) { return openExample(yasgui, examples[i]); } };
    document.documentElement.setAttribute("data-editor", "ready");
  }

  loadConfig().then(start).catch(function (e) {
    console.error(e);
    setStatus("The editor could not start: " + e, true);
  });
})();
