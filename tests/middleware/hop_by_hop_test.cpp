#include "middleware/core/http.hpp"
#include "middleware/proxy/hop_by_hop.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using portcullis::Fields;
namespace pp = portcullis::proxy;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

Fields make_fields(const Headers& headers) {
    Fields fields;
    for (const auto& [name, value] : headers) {
        fields.insert(name, value);
    }
    return fields;
}

// Every field as "Name: value", in order.
std::vector<std::string> lines(const Fields& fields) {
    std::vector<std::string> out;
    for (const auto& f : fields) {
        out.push_back(std::string(f.name_string()) + ": " + std::string(f.value()));
    }
    return out;
}

} // namespace

TEST_CASE("each standard hop-by-hop header is removed, whatever its case", "[unit][hop_by_hop]") {
    const std::string name = GENERATE(
        "Connection", "connection", "Proxy-Connection", "proxy-connection", "Keep-Alive",
        "KEEP-ALIVE", "Proxy-Authenticate", "Proxy-Authorization", "proxy-authorization", "TE",
        "te", "Trailer", "trailer", "Transfer-Encoding", "transfer-encoding", "Upgrade", "upgrade");
    CAPTURE(name);
    // Connection's value names no header here, so only `name` itself goes.
    Fields fields = make_fields({
        {"Content-Type", "text/plain"},
        {name, "close"},
        {"Content-Length", "5"},
        {"X-Custom", "1"},
    });
    pp::strip_hop_by_hop(fields);
    CHECK(lines(fields) ==
          std::vector<std::string>{"Content-Type: text/plain", "Content-Length: 5", "X-Custom: 1"});
}

TEST_CASE("all hop-by-hop headers go together and end-to-end ones stay in order",
          "[unit][hop_by_hop]") {
    Fields fields = make_fields({
        {"Host", "example.com"},
        {"Connection", "keep-alive"},
        {"Proxy-Connection", "keep-alive"},
        {"Keep-Alive", "timeout=5"},
        {"X-Custom", "a"},
        {"Proxy-Authenticate", "Basic"},
        {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
        {"TE", "trailers"},
        {"Trailer", "Expires"},
        {"Transfer-Encoding", "chunked"},
        {"Upgrade", "websocket"},
        {"X-Custom", "b"},
        {"Content-Type", "application/json"},
        {"Content-Length", "12"},
        {"Authorization", "Bearer t"},
    });
    pp::strip_hop_by_hop(fields);
    CHECK(lines(fields) == std::vector<std::string>{
                               "Host: example.com",
                               "X-Custom: a",
                               "X-Custom: b",
                               "Content-Type: application/json",
                               "Content-Length: 12",
                               "Authorization: Bearer t",
                           });
}

TEST_CASE("headers named in Connection are removed, case-insensitively, across Connection headers",
          "[unit][hop_by_hop]") {
    using Row = std::pair<Headers, std::vector<std::string>>;
    auto [headers, kept] = GENERATE(table<Headers, std::vector<std::string>>({
        // One Connection header naming one header.
        Row{{{"Connection", "X-Hop"}, {"X-Hop", "1"}, {"X-Keep", "2"}}, {"X-Keep: 2"}},
        // A list, with odd spacing and case.
        Row{{{"x-a", "1"},
             {"Connection", " x-A ,X-b,,  X-C "},
             {"X-B", "2"},
             {"x-c", "3"},
             {"X-D", "4"}},
            {"X-D: 4"}},
        // Several Connection headers, not adjacent; a named header given twice.
        Row{{{"Connection", "X-A"},
             {"X-A", "1"},
             {"X-Keep", "k"},
             {"connection", "x-b, close"},
             {"X-B", "2"},
             {"X-A", "3"},
             {"CONNECTION", "X-C"},
             {"X-C", "4"}},
            {"X-Keep: k"}},
        // A named header that is absent and a standard one named explicitly.
        Row{{{"Connection", "X-Absent, Keep-Alive, Upgrade"},
             {"Keep-Alive", "timeout=5"},
             {"Upgrade", "h2c"},
             {"Content-Length", "0"}},
            {"Content-Length: 0"}},
        // Connection naming an end-to-end header drops it too, as Go's reverse proxy does.
        Row{{{"Connection", "X-Custom"},
             {"X-Custom", "a"},
             {"Content-Type", "text/plain"},
             {"x-custom", "b"}},
            {"Content-Type: text/plain"}},
    }));
    Fields fields = make_fields(headers);
    pp::strip_hop_by_hop(fields);
    CHECK(lines(fields) == kept);
    CHECK(fields.count("Connection") == 0);
}

TEST_CASE("fields without hop-by-hop headers are left alone", "[unit][hop_by_hop]") {
    const Headers headers = {
        {"Content-Type", "text/plain"},
        {"Content-Length", "3"},
        {"X-Custom", "1"},
        {"X-Custom", "2"},
        {"Accept", "*/*"},
        {"X-Connection-Id", "7"},
    };
    Fields fields = make_fields(headers);
    pp::strip_hop_by_hop(fields);
    CHECK(lines(fields) == std::vector<std::string>{"Content-Type: text/plain", "Content-Length: 3",
                                                    "X-Custom: 1", "X-Custom: 2", "Accept: */*",
                                                    "X-Connection-Id: 7"});
}

TEST_CASE("hop-by-hop by name agrees with hop-by-hop by field, in any case", "[unit][hop_by_hop]") {
    namespace http = boost::beast::http;
    for (int i = 1; i <= static_cast<int>(http::field::xref); ++i) {
        const auto field = static_cast<http::field>(i);
        std::string name(http::to_string(field));
        CAPTURE(name);
        CHECK(pp::is_hop_by_hop(std::string_view(name)) == pp::is_hop_by_hop(field));
        for (char& c : name) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        CHECK(pp::is_hop_by_hop(std::string_view(name)) == pp::is_hop_by_hop(field));
    }
    CHECK_FALSE(pp::is_hop_by_hop(std::string_view("X-Connection")));
    CHECK_FALSE(pp::is_hop_by_hop(std::string_view("")));
}
