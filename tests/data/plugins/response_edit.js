// `response` plugin editing the upstream's response: a header set, one deleted, the body appended to.
var respMw = new TykJS.TykMiddleware.NewMiddleware({});

respMw.NewProcessResponse(function (response, session, config) {
    response.SetHeaders["X-Resp"] = "edited";
    response.SetHeaders["X-Saw-Status"] = String(response.StatusCode);
    response.DeleteHeaders.push("X-Drop");
    response.Body = response.Body + "<!--edited-->";
    return respMw.ReturnResponseData(response, session.meta_data || {});
});
