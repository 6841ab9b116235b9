#include "fuzz/inprocess_gateway.hpp"

#include "config/gateway_config.hpp"
#include "examples/echo_upstream/echo_server.hpp"
#include "fuzz/fuzz_input.hpp"
#include "gateway/common/logging.hpp"
#include "gateway/control_plane.hpp"
#include "gateway/server/worker.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace portcullis::fuzz {
namespace {

namespace fs = std::filesystem;

int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int failure = errno;
        ::close(fd);
        errno = failure; // the caller reports why
        return -1;
    }
    return fd;
}

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

pid_t redis_child = 0;

void stop_redis() {
    if (redis_child > 0) {
        ::kill(redis_child, SIGTERM);
        ::waitpid(redis_child, nullptr, 0);
        redis_child = 0;
    }
}

/// A redis-server child on a free loopback port (no persistence), or 0 when none can start;
/// the child dies with this process.
std::uint16_t start_redis(const fs::path& dir) {
    const std::uint16_t port = free_port();
    const std::string port_text = std::to_string(port);
    const std::string dir_text = dir.string();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        const char* argv[] = {
            "redis-server", "--port", port_text.c_str(), "--bind",         "127.0.0.1",
            "--save",       "",       "--dir",           dir_text.c_str(), "--loglevel",
            "warning",      nullptr};
        ::execvp("redis-server", const_cast<char* const*>(argv));
        ::_exit(127);
    }
    if (pid < 0) {
        return 0;
    }
    redis_child = pid;
    std::atexit(stop_redis);
    for (int i = 0; i < 100; ++i) { // up to 5 s for it to listen
        const int fd = connect_loopback(port);
        if (fd >= 0) {
            ::close(fd);
            return port;
        }
        if (::waitpid(pid, nullptr, WNOHANG) == pid) {
            redis_child = 0;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::fprintf(stderr, "fuzz harness: redis-server did not start; keyed routes answer 5xx\n");
    return port;
}

} // namespace

InProcessGateway& InProcessGateway::instance() {
    // Never destroyed: the worker thread runs until the process exits.
    static InProcessGateway* gateway = new InProcessGateway();
    return *gateway;
}

InProcessGateway::InProcessGateway() {
    ::signal(SIGPIPE, SIG_IGN);
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/portcullis-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        invariant_failed("cannot create the harness directory");
    }
    const fs::path dir = pattern;

    static examples::EchoServer* echo = new examples::EchoServer("127.0.0.1", 0);
    const std::string upstream = "http://127.0.0.1:" + std::to_string(echo->port());

    std::uint16_t redis_port = 0;
    if (const char* given = std::getenv("PORTCULLIS_FUZZ_REDIS_PORT")) {
        redis_port = static_cast<std::uint16_t>(std::atoi(given));
    } else {
        redis_port = start_redis(dir);
    }

    // The APIs, with the echo server as their upstream.
    const fs::path source = fs::path(PORTCULLIS_SOURCE_DIR) / "fuzz" / "gateway";
    app_path_ = (dir / "apps").string();
    fs::create_directories(app_path_);
    for (const auto& entry : fs::directory_iterator(source / "apps")) {
        std::string text = config::read_text_file(entry.path().string());
        for (auto at = text.find("@UPSTREAM@"); at != std::string::npos;
             at = text.find("@UPSTREAM@")) {
            text.replace(at, 10, upstream);
        }
        write_file(fs::path(app_path_) / entry.path().filename(), text);
    }
    policy_path_ = (dir / "policies").string();
    fs::create_directories(policy_path_);
    for (const auto& entry : fs::directory_iterator(source / "policies")) {
        fs::copy_file(entry.path(), fs::path(policy_path_) / entry.path().filename());
    }

    nlohmann::json conf = {
        {"listen_address", "127.0.0.1"},
        {"listen_port", 0},
        {"secret", kSecret},
        {"app_path", app_path_},
        {"policies", {{"policy_source", "file"}, {"policy_path", policy_path_}}},
        {"storage", {{"host", "127.0.0.1"}, {"port", redis_port}, {"timeout", 1}}},
        {"proxy_default_timeout", 3},
        {"portcullis",
         {{"workers", 1},
          {"access_log", "off"},
          {"log_level", std::getenv("PORTCULLIS_FUZZ_LOG") ? "info" : "off"},
          {"header_timeout", 2},
          {"idle_timeout", 2}}},
    };
    write_file(dir / "tyk.conf", conf.dump(2));
    auto config = std::make_shared<const config::GatewayConfig>(
        config::load_gateway_config((dir / "tyk.conf").string()));
    logging::init(config->portcullis);

    static ControlPlane* control = new ControlPlane(config);
    static server::Worker* worker =
        new server::Worker(0, control->current(), control, server::Worker::Tls{});
    worker->listen(tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0});
    port_ = worker->local_port();
    control->attach({worker});
    worker->start();
    // At exit, stop the worker before the loggers and Redis go away (registered after
    // logging::init, so it runs before the logger registry is destroyed).
    static server::Worker* running = worker;
    std::atexit([] {
        running->begin_drain(std::chrono::seconds(0));
        running->join();
    });

    // The key the keyed seeds use.
    const nlohmann::json session = {
        {"org_id", "default"},
        {"rate", 1000000},
        {"per", 1},
        {"quota_max", -1},
        {"expires", 0},
        {"access_rights",
         {{"keyed", {{"api_id", "keyed"}, {"versions", {"Default"}}}},
          {"limited", {{"api_id", "limited"}, {"versions", {"Default"}}}}}},
        {"meta_data", {{"user", "ada"}, {"tier", "gold"}, {"url", "http://x/y"}}},
    };
    admin("POST", std::string("/tyk/keys/") + kKey, session.dump());
}

std::string InProcessGateway::exchange(std::string_view request, std::size_t cap) const {
    // A connect can fail for the client's own reasons (two fuzzers on one machine open a
    // thousand loopback connections a second between them: local ports run short for a
    // moment); only a gateway that keeps refusing for 3 s is a finding.
    int fd = connect_loopback(port_);
    const auto stop_trying = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (fd < 0 && std::chrono::steady_clock::now() < stop_trying) {
        const int failure = errno;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        fd = connect_loopback(port_);
        if (fd < 0 && std::chrono::steady_clock::now() >= stop_trying) {
            std::fprintf(stderr, "connect to the gateway: %s\n", std::strerror(failure));
        }
    }
    if (fd < 0) {
        invariant_failed("the gateway does not accept connections");
    }
    std::size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                ::close(fd);
                invariant_failed("the gateway stopped reading for 10 s without closing");
            }
            break; // it answered and closed early: fine
        }
        sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    std::string response;
    char buf[16384];
    // Answers that keep coming (pipelined requests to a slow upstream path) are read for at
    // most 15 s in all, inside libFuzzer's -timeout; only 10 s of silence is a hang.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (response.size() < cap && std::chrono::steady_clock::now() < give_up) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0) {
            break;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                ::close(fd);
                invariant_failed("no answer and no close within 10 s: the gateway hung");
            }
            break; // reset
        }
        response.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return response;
}

int InProcessGateway::admin(std::string_view method,
                            std::string_view target,
                            std::string_view body) const {
    std::string request;
    request.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    request.append("Host: fuzz\r\nConnection: close\r\nX-Tyk-Authorization: ");
    request.append(kSecret).append("\r\nContent-Type: application/json\r\nContent-Length: ");
    request.append(std::to_string(body.size())).append("\r\n\r\n").append(body);
    const std::string response = exchange(request);
    if (response.size() < 12 || !response.starts_with("HTTP/1.1 ")) {
        return 0;
    }
    return std::atoi(response.c_str() + 9);
}

} // namespace portcullis::fuzz
