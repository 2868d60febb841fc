/* mkdocs-material's inline start-up script, served as a file so that the
   Content-Security-Policy can forbid inline scripts. The site enables no material feature
   that stores anything (no palette toggle, no consent, no tabs, no repository facts), so
   __md_set is never called; it is kept because material's bundle expects it to exist. */
__md_scope = new URL(document.currentScript.src.replace(/assets\/md-init\.js$/, ""), location);
__md_hash = function (e) { return [...e].reduce(function (h, c) { return (h << 5) - h + c.charCodeAt(0); }, 0); };
__md_get = function (e, s, t) { s = s || localStorage; t = t || __md_scope; return JSON.parse(s.getItem(t.pathname + "." + e)); };
__md_set = function (e, v, s, t) { try { s = s || localStorage; t = t || __md_scope; s.setItem(t.pathname + "." + e, JSON.stringify(v)); } catch (err) {} };
