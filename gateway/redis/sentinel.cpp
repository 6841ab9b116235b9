#include "gateway/redis/sentinel.hpp"

#include "gateway/common/deadline_stream.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <memory>
#include <sstream>

namespace portcullis::redis {

namespace {

struct ReaderFree {
    void operator()(redisReader* reader) const { redisReaderFree(reader); }
};
struct ReplyFree {
    void operator()(void* reply) const { freeReplyObject(reply); }
};
using ReaderPtr = std::unique_ptr<redisReader, ReaderFree>;
using RawReplyPtr = std::unique_ptr<void, ReplyFree>;

/// `args` in Redis' wire format.
std::string wire_command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    char* formatted = nullptr;
    const long long n = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()),
                                               argv.data(), lengths.data());
    std::string out = n > 0 ? std::string(formatted, static_cast<std::size_t>(n)) : std::string();
    redisFreeCommand(formatted);
    return out;
}

std::string name_of(const config::HostPort& address) {
    return address.host + ":" + std::to_string(address.port);
}

/// The addresses of `sentinel`, resolved within `timeout` (an IP address as is).
awaitable<std::vector<tcp::endpoint>> endpoints_of(asio::io_context& ioc,
                                                   const config::HostPort& sentinel,
                                                   std::chrono::steady_clock::duration timeout) {
    std::vector<tcp::endpoint> endpoints;
    error_code ec;
    const auto address = asio::ip::make_address(sentinel.host, ec);
    if (!ec) {
        endpoints.emplace_back(address, static_cast<std::uint16_t>(sentinel.port));
        co_return endpoints;
    }
    using namespace asio::experimental::awaitable_operators;
    Resolver resolver(ioc);
    Timer timer(ioc, timeout);
    auto result = co_await (
        resolver.async_resolve(sentinel.host, std::to_string(sentinel.port), use_nothrow) ||
        timer.async_wait(use_nothrow));
    if (result.index() == 0) {
        auto [rec, results] = std::get<0>(std::move(result));
        if (!rec) {
            for (const auto& entry : results) {
                endpoints.push_back(entry.endpoint());
            }
        }
    }
    co_return endpoints;
}

/// `command`, after AUTH when `password` is set, in Redis' wire format.
std::string with_auth(const std::string& password, const std::vector<std::string>& command) {
    std::string request;
    if (!password.empty()) {
        std::vector<std::string> auth;
        auth.emplace_back("AUTH");
        auth.push_back(password);
        request = wire_command(auth);
    }
    return request + wire_command(command);
}

/// Connects `stream` to `sentinel` and sends `request`, within `timeout` (from now). Empty on
/// success, else why not.
awaitable<std::string> open(asio::io_context& ioc,
                            DeadlineStream& stream,
                            const config::HostPort& sentinel,
                            const std::string& request,
                            std::chrono::steady_clock::duration timeout) {
    const std::vector<tcp::endpoint> endpoints = co_await endpoints_of(ioc, sentinel, timeout);
    if (endpoints.empty()) {
        co_return "sentinel " + name_of(sentinel) + ": cannot resolve its host";
    }
    stream.expires_after(timeout);
    auto [cec, endpoint] = co_await stream.async_connect(endpoints, use_nothrow);
    if (cec) {
        co_return "sentinel " + name_of(sentinel) + ": " + cec.message();
    }
    auto [wec, wn] = co_await asio::async_write(
        stream, asio::buffer(request.data(), request.size()), use_nothrow);
    if (wec) {
        co_return "sentinel " + name_of(sentinel) + ": " + wec.message();
    }
    co_return std::string();
}

/// One sentinel's answers to `request` (`expected` replies), or an error text.
awaitable<std::vector<Reply>> ask(asio::io_context& ioc,
                                  const config::HostPort& sentinel,
                                  const std::string& request,
                                  std::size_t expected,
                                  std::chrono::steady_clock::duration timeout,
                                  std::string& error) {
    std::vector<Reply> replies;
    DeadlineStream stream(ioc);
    std::string failed = co_await open(ioc, stream, sentinel, request, timeout);
    if (!failed.empty()) {
        error = std::move(failed);
        co_return replies;
    }
    ReaderPtr reader(redisReaderCreate());
    char buffer[2048];
    while (replies.size() < expected) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
            error = "sentinel " + name_of(sentinel) + ": unreadable answer";
            replies.clear();
            co_return replies;
        }
        if (raw != nullptr) {
            RawReplyPtr owned(raw);
            replies.push_back(Reply::from(static_cast<const redisReply*>(raw)));
            continue;
        }
        auto [rec, n] = co_await stream.async_read_some(asio::buffer(buffer), use_nothrow);
        if (rec) {
            error = "sentinel " + name_of(sentinel) + ": " + rec.message();
            replies.clear();
            co_return replies;
        }
        redisReaderFeed(reader.get(), buffer, n);
    }
    co_return replies;
}

} // namespace

std::vector<std::string> master_query(const std::string& master_name) {
    std::vector<std::string> args;
    args.emplace_back("SENTINEL");
    args.emplace_back("get-master-addr-by-name");
    args.push_back(master_name);
    return args;
}

namespace {

/// `host` and a decimal port as a sentinel writes them; nullopt when either is unusable.
std::optional<config::HostPort> address_of(const std::string& host, const std::string& digits) {
    int port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || port <= 0 || port > 65535 ||
        host.empty()) {
        return std::nullopt;
    }
    return config::HostPort{host, port};
}

} // namespace

std::optional<config::HostPort> master_from_reply(const Reply& reply) {
    if (reply.type != Reply::Type::array || reply.elements.size() != 2 ||
        !reply.elements[0].is_string() || !reply.elements[1].is_string()) {
        return std::nullopt;
    }
    return address_of(reply.elements[0].str, reply.elements[1].str);
}

bool is_readonly_error(const Reply& reply) {
    return reply.is_error() && reply.str.starts_with("READONLY");
}

awaitable<std::optional<config::HostPort>>
discover_master(asio::io_context& ioc,
                const std::vector<config::HostPort>& sentinels,
                const std::string& master_name,
                const std::string& password,
                std::chrono::steady_clock::duration timeout,
                std::string& error) {
    const std::string request = with_auth(password, master_query(master_name));
    const std::size_t expected = password.empty() ? 1 : 2;
    error = "no sentinel configured";
    for (const auto& sentinel : sentinels) {
        const std::vector<Reply> replies =
            co_await ask(ioc, sentinel, request, expected, timeout, error);
        if (replies.size() != expected) {
            continue; // `error` says why
        }
        if (replies.front().is_error()) {
            error = "sentinel " + name_of(sentinel) + ": " + replies.front().str;
            continue;
        }
        if (auto master = master_from_reply(replies.back())) {
            co_return master;
        }
        error = "sentinel " + name_of(sentinel) + " names no master \"" + master_name + "\"";
    }
    co_return std::nullopt;
}

std::optional<config::HostPort> switched_master(const std::string& message,
                                                const std::string& master_name) {
    std::istringstream words(message);
    std::string name, old_ip, old_port, new_ip, new_port;
    if (!(words >> name >> old_ip >> old_port >> new_ip >> new_port) || name != master_name) {
        return std::nullopt;
    }
    return address_of(new_ip, new_port);
}

SwitchWatcher::SwitchWatcher(asio::io_context& ioc,
                             std::vector<config::HostPort> sentinels,
                             std::string master_name,
                             std::string password,
                             std::chrono::steady_clock::duration connect_timeout,
                             std::function<void(const config::HostPort&)> on_switch)
    : ioc_(ioc), sentinels_(std::move(sentinels)), master_name_(std::move(master_name)),
      password_(std::move(password)), connect_timeout_(connect_timeout),
      on_switch_(std::move(on_switch)), backoff_(ioc) {}

SwitchWatcher::~SwitchWatcher() = default;

void SwitchWatcher::start() {
    asio::co_spawn(ioc_, run(shared_from_this()), asio::detached);
}

void SwitchWatcher::stop() {
    stopped_ = true;
    backoff_.cancel();
    if (stream_) {
        stream_->close();
    }
}

awaitable<void> SwitchWatcher::run(std::shared_ptr<SwitchWatcher> self) {
    while (!self->stopped_) {
        for (const auto& sentinel : self->sentinels_) {
            co_await self->listen(sentinel);
            if (self->stopped_) {
                co_return;
            }
        }
        self->backoff_.expires_after(std::chrono::milliseconds(500));
        co_await self->backoff_.async_wait(use_nothrow);
    }
}

awaitable<void> SwitchWatcher::listen(const config::HostPort& sentinel) {
    std::vector<std::string> subscribe;
    subscribe.emplace_back("SUBSCRIBE");
    subscribe.emplace_back("+switch-master");
    const std::string request = with_auth(password_, subscribe);
    stream_ = std::make_unique<DeadlineStream>(ioc_);
    DeadlineStream& stream = *stream_;
    const std::string failed = co_await open(ioc_, stream, sentinel, request, connect_timeout_);
    if (!failed.empty() || stopped_) {
        stream.close(); // nothing of it may keep the io_context running
        co_return;
    }
    stream.expires_never(); // announcements come when they come; stop() closes the stream
    ReaderPtr reader(redisReaderCreate());
    char buffer[2048];
    for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
            co_return;
        }
        if (raw != nullptr) {
            RawReplyPtr owned(raw);
            const Reply reply = Reply::from(static_cast<const redisReply*>(raw));
            if (reply.is_error()) {
                spdlog::warn("sentinel {}: {}", name_of(sentinel), reply.str);
                co_return;
            }
            if (reply.type == Reply::Type::array && reply.elements.size() == 3 &&
                reply.elements[0].str == "message") {
                if (auto master = switched_master(reply.elements[2].str, master_name_)) {
                    on_switch_(*master);
                }
            }
            continue;
        }
        auto [rec, n] = co_await stream.async_read_some(asio::buffer(buffer), use_nothrow);
        if (rec) {
            co_return;
        }
        redisReaderFeed(reader.get(), buffer, n);
    }
}

} // namespace portcullis::redis
