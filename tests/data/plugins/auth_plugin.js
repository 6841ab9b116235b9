// Custom auth plugin (`auth_check` with enable_coprocess_auth, or the `auth` folder): accepts an
// `Authorization` header "good-<user>", refuses anything else with 401 through ReturnOverrides,
// and hands the gateway the key's session with ReturnAuthData and the key id in AuthValue.
var authPlugin = new TykJS.TykMiddleware.NewMiddleware({});

authPlugin.NewProcessRequest(function (request, session, config) {
    var header = request.Headers["Authorization"];
    var token = header ? header[0] : "";
    if (token.indexOf("good-") !== 0) {
        request.ReturnOverrides.ResponseCode = 401;
        request.ReturnOverrides.ResponseError = "Header missing or wrong (JS auth)";
        return authPlugin.ReturnAuthData(request, {});
    }
    var user = token.substring(5);
    var tier = (config.config_data && config.config_data.tier) || "none";
    var thisSession = {
        "rate": 100,
        "per": 1,
        "allowance": 100,
        "quota_max": 3,
        "quota_remaining": 3,
        "quota_renewal_rate": 3600,
        "expires": user === "expired" ? 1 : 0,
        "access_rights": {},
        "org_id": config.OrgID,
        "meta_data": {"user": user, "tier": tier}
    };
    var ret = authPlugin.ReturnAuthData(request, thisSession);
    ret.AuthValue = "plugin-" + user;
    return ret;
});
