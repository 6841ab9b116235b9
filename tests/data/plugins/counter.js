// `post` plugin with require_session: counts the key's requests in its metadata
// (session.meta_data.counter, a string as Tyk's meta_data values are) and tells the upstream.
var counterMw = new TykJS.TykMiddleware.NewMiddleware({});

counterMw.NewProcessRequest(function (request, session, config) {
    var meta = session.meta_data || {};
    var n = parseInt(meta.counter || "0", 10) + 1;
    meta.counter = String(n);
    request.SetHeaders["X-Counter"] = String(n);
    return counterMw.ReturnData(request, meta);
});
