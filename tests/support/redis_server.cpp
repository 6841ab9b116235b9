#include "tests/support/redis_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <hiredis/hiredis.h>

#include <csignal>
#include <stdexcept>
#include <thread>

namespace portcullis::test {

std::uint16_t free_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acceptor{ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
    return acceptor.local_endpoint().port();
}

RedisServer::RedisServer(std::vector<std::string> extra_args) : extra_args_(std::move(extra_args)) {
    for (std::size_t i = 0; i + 1 < extra_args_.size(); ++i) {
        if (extra_args_[i] == "--requirepass") {
            password_ = extra_args_[i + 1];
        }
    }
    launch();
}

RedisServer::RedisServer(SentinelOf sentinel) : sentinel_(std::move(sentinel)) {
    launch();
}

void RedisServer::launch() {
    // The port is free when picked but could be taken (e.g. as some connection's ephemeral
    // port) before redis-server binds it: then it exits at once, and another port is tried.
    for (int attempt = 1;; ++attempt) {
        port_ = free_port();
        try {
            start();
            return;
        } catch (const std::runtime_error&) {
            if (attempt == 5 || process_running()) {
                throw;
            }
            stop();
        }
    }
}

bool RedisServer::process_running() const {
    return process_ != nullptr && process_->running();
}

RedisServer::~RedisServer() {
    stop();
}

void RedisServer::stop() {
    if (process_) {
        process_->stop(SIGKILL, std::chrono::seconds(5));
        process_.reset();
    }
}

void RedisServer::start() {
    std::vector<std::string> argv{"/usr/bin/redis-server",
                                  "--bind",
                                  "127.0.0.1",
                                  "--port",
                                  std::to_string(port_),
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--dir",
                                  dir_.path().string()};
    if (sentinel_) {
        // A sentinel rewrites its configuration file: one of its own, in its directory.
        const std::string& name = sentinel_->master_name;
        const auto conf = dir_.write("sentinel.conf",
                                     "sentinel monitor " + name + " 127.0.0.1 " +
                                         std::to_string(sentinel_->master_port) +
                                         " 1\nsentinel down-after-milliseconds " + name +
                                         " 1000\nsentinel failover-timeout " + name + " 10000\n");
        argv = {"/usr/bin/redis-server",
                conf.string(),
                "--sentinel",
                "--bind",
                "127.0.0.1",
                "--port",
                std::to_string(port_),
                "--dir",
                dir_.path().string()};
    }
    argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
    if (!std::filesystem::exists(argv[0])) {
        throw std::runtime_error("redis-server is not installed (run scripts/install-deps.sh)");
    }
    process_ = std::make_unique<ChildProcess>(argv, dir_.path() / "redis.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        timeval tv{0, 200000};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
        const bool up = c != nullptr && c->err == 0;
        if (c != nullptr) {
            redisFree(c);
        }
        if (up) {
            return;
        }
        if (!process_->running()) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("redis-server did not start:\n" + process_->log());
}

namespace {

std::string reply_text(const redisReply* r) {
    if (r == nullptr) {
        return "(null)";
    }
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
        return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
        return "(nil)";
    case REDIS_REPLY_ARRAY: {
        std::string out;
        for (std::size_t i = 0; i < r->elements; ++i) {
            out += reply_text(r->element[i]);
            out += '\n';
        }
        return out;
    }
    default:
        return "?";
    }
}

redisReply* run(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    return static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
}

} // namespace

std::string RedisServer::command(const std::vector<std::string>& args, int db) const {
    timeval tv{5, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (c == nullptr || c->err != 0) {
        if (c != nullptr) {
            redisFree(c);
        }
        throw std::runtime_error("cannot connect to the test redis-server");
    }
    redisSetTimeout(c, tv);
    if (!password_.empty()) {
        freeReplyObject(run(c, {"AUTH", password_}));
    }
    if (db != 0) {
        freeReplyObject(run(c, {"SELECT", std::to_string(db)}));
    }
    redisReply* r = run(c, args);
    std::string out = reply_text(r);
    if (r != nullptr) {
        freeReplyObject(r);
    }
    redisFree(c);
    return out;
}

} // namespace portcullis::test
