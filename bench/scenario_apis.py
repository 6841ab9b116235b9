#!/usr/bin/env python3
"""Writes the benchmark scenarios' API definitions (one per route family) into APPS_DIR, all
proxying to UPSTREAM: open (keyless), meta ($tyk_meta request headers), limited (the same, for a
key with rate limit and quota), body (request body template with ._tyk_meta), rewrite (URL rewrite
with triggers). Shared by bench/gateway_vs_nginx.sh and bench/soak.sh.

usage: scenario_apis.py APPS_DIR UPSTREAM_URL
"""
import base64, json, sys
apps, upstream = sys.argv[1], sys.argv[2]

def api(api_id, keyless, version=None, **extra):
    version = dict(version or {})
    version["name"] = "Default"
    doc = {"api_id": api_id, "org_id": "o", "name": api_id, "use_keyless": keyless,
           "auth": {"auth_header_name": "Authorization"},
           "proxy": {"listen_path": "/%s/" % api_id, "target_url": upstream,
                     "strip_listen_path": True},
           "version_data": {"not_versioned": True, "versions": {"Default": version}}}
    doc.update(extra)
    with open("%s/%s.json" % (apps, api_id), "w") as f:
        json.dump(doc, f, indent=1)

meta_headers = {"X-User": "$tyk_meta.user", "X-Plan": "$tyk_meta.plan"}
api("open", True)
api("meta", False, {"global_headers": meta_headers, "global_headers_remove": ["X-Drop"]})
api("limited", False, {"global_headers": meta_headers})
template = '{"user": "{{ ._tyk_meta.user }}", "plan": "{{ ._tyk_meta.plan }}", "pad": {{ jsonMarshal .pad }}}'
api("body", False, {"use_extended_paths": True, "extended_paths": {"transform": [{
    "path": "/transform", "method": "POST",
    "template_data": {"input_type": "json", "template_mode": "blob", "enable_session": True,
                      "template_source": base64.b64encode(template.encode()).decode()}}]}})
api("rewrite", False, {"use_extended_paths": True, "extended_paths": {"url_rewrites": [{
    "path": "/items/{id}", "method": "GET", "match_pattern": "/items/(\\w+)",
    "rewrite_to": "/catalog/$1",
    "triggers": [
        {"on": "all", "options": {"header_matches": {"X-Plan": {"match_rx": "^gold$"}}},
         "rewrite_to": "/gold/$tyk_meta.user/$1"},
        {"on": "any", "options": {"session_meta_matches": {"plan": {"match_rx": "^(silver)$"}}},
         "rewrite_to": "/silver/$1"}]}]}})
