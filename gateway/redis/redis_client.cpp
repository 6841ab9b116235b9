#include "gateway/redis/redis_client.hpp"

#include "gateway/common/clock.hpp"
#include "gateway/redis/sentinel.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/post.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstring>
#include <optional>

namespace portcullis::redis {

namespace {

class RedisCategory : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "portcullis.redis"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::unavailable:
            return "Redis is not connected";
        case Errc::timeout:
            return "Redis command timed out";
        case Errc::disconnected:
            return "Redis connection lost before the reply";
        case Errc::server_error:
            return "Redis replied with an error";
        }
        return "unknown Redis error";
    }
};

} // namespace

const boost::system::error_category& category() {
    static const RedisCategory instance;
    return instance;
}

error_code make_error_code(Errc e) {
    return {static_cast<int>(e), category()};
}

/// The glue between one hiredis async context and the io_context: hiredis owns the socket, we
/// watch it with a stream_descriptor and call hiredis back when it is readable/writable. Kept
/// alive by the client and by every pending wait, so a callback never sees a dead Link.
struct RedisClient::Link : std::enable_shared_from_this<RedisClient::Link> {
    Link(asio::io_context& ioc, RedisClient* client) : sd(ioc), connect_event(ioc), owner(client) {}

    redisAsyncContext* ac = nullptr;
    asio::posix::basic_stream_descriptor<Executor> sd;
    bool want_read = false;
    bool want_write = false;
    bool reading = false;
    bool writing = false;
    bool connect_done = false;
    int connect_status = REDIS_ERR;
    Timer connect_event;
    RedisClient* owner;

    void arm_read() {
        if (reading || ac == nullptr || !want_read) {
            return;
        }
        reading = true;
        sd.async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this()](error_code ec) {
                          self->reading = false;
                          if (ec || self->ac == nullptr) {
                              return;
                          }
                          redisAsyncHandleRead(self->ac);
                          self->arm_read();
                      });
    }

    void arm_write() {
        if (writing || ac == nullptr || !want_write) {
            return;
        }
        writing = true;
        sd.async_wait(asio::posix::stream_descriptor::wait_write,
                      [self = shared_from_this()](error_code ec) {
                          self->writing = false;
                          if (ec || self->ac == nullptr) {
                              return;
                          }
                          redisAsyncHandleWrite(self->ac);
                          self->arm_write();
                      });
    }

    static void add_read(void* p) {
        auto* l = static_cast<Link*>(p);
        l->want_read = true;
        l->arm_read();
    }
    static void del_read(void* p) { static_cast<Link*>(p)->want_read = false; }
    static void add_write(void* p) {
        auto* l = static_cast<Link*>(p);
        l->want_write = true;
        l->arm_write();
    }
    static void del_write(void* p) { static_cast<Link*>(p)->want_write = false; }
    static void cleanup(void* p) {
        // hiredis is about to free the context and close the fd: stop watching, release
        // (don't close) the descriptor.
        auto* l = static_cast<Link*>(p);
        l->ac = nullptr;
        l->want_read = false;
        l->want_write = false;
        error_code ignored;
        l->sd.cancel(ignored);
        if (l->sd.is_open()) {
            l->sd.release();
        }
    }
};

/// One command waiting for its reply. hiredis holds a heap shared_ptr to it as privdata and
/// always calls back exactly once (NULL reply on disconnect or free).
struct RedisClient::Pending {
    explicit Pending(asio::io_context& context) : ioc(context) {}
    asio::io_context& ioc;
    Timer::time_point deadline;
    bool done = false;      // the reply came, or the connection went
    bool abandoned = false; // the waiter gave up: a late reply is dropped
    bool disconnected = false;
    Reply reply;
    /// The coroutine waiting for the outcome, while it waits. Only ever move-constructed:
    /// Boost 1.81's move assignment of any_completion_handler recurses without end.
    std::optional<asio::any_completion_handler<void()>> waiter;

    /// Resumes the waiter, if any, from the io_context: never from inside hiredis.
    void wake() {
        if (waiter) {
            Resume resume(std::move(*waiter));
            waiter.reset();
            asio::post(ioc, std::move(resume));
        }
    }

    /// The waiter as a plain handler of the io_context's: posting the type-erased handler
    /// itself would dispatch it through its type-erased executor as well.
    struct Resume {
        explicit Resume(asio::any_completion_handler<void()>&& h) : handler(std::move(h)) {}
        Resume(Resume&&) = default;
        Resume(const Resume&) = delete; // would wrap the handler in itself (see waiter)
        void operator()() { std::move(handler)(); }
        asio::any_completion_handler<void()> handler;
    };
};

namespace {

/// Parks the awaiting coroutine's completion handler in a Pending until wake().
template <class P> struct Park {
    P* pending;
    template <class Handler> void operator()(Handler&& handler) const {
        pending->waiter.emplace(std::forward<Handler>(handler));
    }
};

/// Waits until `pending` is woken: by its reply, or by the sweep when its deadline passed.
template <class P> awaitable<void> parked(P& pending) {
    return asio::async_initiate<const asio::use_awaitable_t<Executor>&, void()>(Park<P>{&pending},
                                                                                use_awaitable);
}

} // namespace

RedisClient::RedisClient(asio::io_context& ioc, ClientOptions options)
    : ioc_(ioc), options_(std::move(options)), wake_(ioc), first_attempt_(ioc), deadlines_(ioc) {
    first_attempt_.expires_at(Timer::time_point::max());
}

RedisClient::~RedisClient() {
    stopped_ = true;
    drop_link();
}

void RedisClient::start() {
    asio::co_spawn(ioc_, run(shared_from_this()), asio::detached);
    if (!options_.master_name.empty()) {
        std::weak_ptr<RedisClient> weak = shared_from_this();
        watcher_ = std::make_shared<SwitchWatcher>(
            ioc_, options_.sentinels, options_.master_name, options_.sentinel_password,
            options_.connect_timeout, [weak](const config::HostPort& master) {
                if (auto self = weak.lock()) {
                    self->on_master_switch(master);
                }
            });
        watcher_->start();
    }
}

void RedisClient::on_master_switch(const config::HostPort& master) {
    const std::string address = master.host + ":" + std::to_string(master.port);
    if (stopped_ || (connected_ && address == address_)) {
        return;
    }
    spdlog::warn("redis: the sentinels moved master \"{}\" to {}, reconnecting",
                 options_.master_name, address);
    drop_link();
    wake_.cancel();
}

void RedisClient::stop() {
    stopped_ = true;
    if (watcher_) {
        watcher_->stop();
    }
    wake_.cancel();
    first_attempt_done_ = true;
    first_attempt_.cancel();
    drop_link();
    deadlines_.cancel(); // the sweep fails what is left, and the timer no longer keeps the
                         // io_context running
}

void RedisClient::drop_link() {
    connected_ = false;
    if (link_) {
        link_->owner = nullptr;
        if (link_->ac != nullptr) {
            redisAsyncContext* ac = link_->ac;
            redisAsyncFree(ac); // fails every pending command with a NULL reply, then cleanup
        }
        link_.reset();
    }
}

void RedisClient::on_reply(redisAsyncContext*, void* reply, void* privdata) {
    auto* holder = static_cast<std::shared_ptr<Pending>*>(privdata);
    std::shared_ptr<Pending> p = std::move(*holder);
    delete holder;
    if (p->abandoned) {
        return;
    }
    p->done = true;
    if (reply == nullptr) {
        p->disconnected = true;
    } else {
        p->reply = Reply::from(static_cast<redisReply*>(reply));
    }
    p->wake();
}

void RedisClient::on_connect(const redisAsyncContext* ac, int status) {
    auto* link = static_cast<Link*>(ac->data);
    link->connect_done = true;
    link->connect_status = status;
    link->connect_event.cancel();
}

void RedisClient::on_disconnect(const redisAsyncContext* ac, int) {
    auto* link = static_cast<Link*>(ac->data);
    link->connect_event.cancel();
    if (link->owner != nullptr) {
        link->owner->connected_ = false;
        link->owner->wake_.cancel();
    }
}

void format_command(std::string& out, const std::vector<std::string>& args) {
    // RESP: *<count>\r\n, then $<length>\r\n<bytes>\r\n per argument (binary-safe).
    std::size_t size = 16;
    for (const auto& a : args) {
        size += a.size() + 24;
    }
    out.resize(size);
    char* p = out.data();
    const auto number_line = [&p](char kind, std::size_t n) {
        *p++ = kind;
        p = std::to_chars(p, p + 20, n).ptr;
        *p++ = '\r';
        *p++ = '\n';
    };
    number_line('*', args.size());
    for (const auto& a : args) {
        number_line('$', a.size());
        std::memcpy(p, a.data(), a.size());
        p += a.size();
        *p++ = '\r';
        *p++ = '\n';
    }
    out.resize(static_cast<std::size_t>(p - out.data()));
}

std::shared_ptr<RedisClient::Pending> RedisClient::start(const std::vector<std::string>& args) {
    if (!link_ || link_->ac == nullptr) {
        return nullptr;
    }
    format_command(command_text_, args);
    auto pending = std::make_shared<Pending>(ioc_);
    pending->deadline = coarse::steady_now() + options_.command_timeout;
    auto* holder = new std::shared_ptr<Pending>(pending);
    if (redisAsyncFormattedCommand(link_->ac, &RedisClient::on_reply, holder, command_text_.data(),
                                   command_text_.size()) != REDIS_OK) {
        delete holder;
        return nullptr;
    }
    while (!in_flight_.empty() && in_flight_.front()->done) {
        in_flight_.pop_front();
    }
    in_flight_.push_back(pending);
    arm_deadlines();
    return pending;
}

void RedisClient::arm_deadlines() {
    if (deadlines_armed_ || in_flight_.empty()) {
        return;
    }
    deadlines_armed_ = true;
    deadlines_.expires_at(in_flight_.front()->deadline);
    std::weak_ptr<RedisClient> weak = shared_from_this();
    deadlines_.async_wait([weak](error_code) {
        if (auto self = weak.lock()) {
            self->sweep();
        }
    });
}

void RedisClient::sweep() {
    deadlines_armed_ = false;
    const auto now = std::chrono::steady_clock::now();
    while (!in_flight_.empty()) {
        Pending& oldest = *in_flight_.front();
        if (!oldest.done) {
            if (oldest.deadline > now && !stopped_) {
                break;
            }
            oldest.wake(); // not done: the waiter reads a timeout
        }
        in_flight_.pop_front();
    }
    arm_deadlines();
}

std::pair<error_code, Reply> RedisClient::finish(Pending& pending) {
    if (!pending.done) {
        pending.abandoned = true;
        if (++consecutive_timeouts_ >= kTimeoutsBeforeReconnect) {
            spdlog::warn("redis: {} consecutive timeouts, reconnecting", consecutive_timeouts_);
            consecutive_timeouts_ = 0;
            drop_link();
            wake_.cancel();
        }
        return {make_error_code(Errc::timeout), Reply{}};
    }
    consecutive_timeouts_ = 0;
    if (pending.disconnected) {
        return {make_error_code(Errc::disconnected), Reply{}};
    }
    if (pending.reply.is_error()) {
        if (!options_.master_name.empty() && is_readonly_error(pending.reply)) {
            // A failover demoted this server: find the master again.
            spdlog::warn("redis: {} is a replica now, asking the sentinels again", address_);
            drop_link();
            wake_.cancel();
        }
        return {make_error_code(Errc::server_error), std::move(pending.reply)};
    }
    return {error_code{}, std::move(pending.reply)};
}

awaitable<std::pair<error_code, Reply>> RedisClient::send(std::vector<std::string> args) {
    const std::shared_ptr<Pending> pending = start(args);
    if (!pending) {
        co_return std::pair{make_error_code(Errc::unavailable), Reply{}};
    }
    if (!pending->done) {
        co_await parked(*pending);
    }
    co_return finish(*pending);
}

awaitable<std::pair<error_code, Reply>> RedisClient::command(std::vector<std::string> args) {
    if (!connected_ && !first_attempt_done_) {
        // Just started: wait for the first connection instead of failing requests that arrive
        // while it is being made.
        co_await first_attempt_.async_wait(use_nothrow);
    }
    ++stats_.commands;
    const std::shared_ptr<Pending> pending = connected_ ? start(args) : nullptr;
    if (!pending) {
        ++stats_.errors;
        co_return std::pair{make_error_code(Errc::unavailable), Reply{}};
    }
    const auto started = std::chrono::steady_clock::now();
    if (!pending->done) {
        co_await parked(*pending);
    }
    auto answer = finish(*pending);
    if (answer.first && answer.first != make_error_code(Errc::server_error)) {
        ++stats_.errors;
    } else {
        stats_.latency.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    co_return answer;
}

std::string RedisClient::where() const {
    if (options_.master_name.empty()) {
        return options_.host + ":" + std::to_string(options_.port);
    }
    return "master \"" + options_.master_name + "\"" + (address_.empty() ? "" : " at " + address_);
}

awaitable<error_code> RedisClient::connect_once() {
    last_error_.clear();
    std::string host = options_.host;
    std::uint16_t port = options_.port;
    if (!options_.master_name.empty()) {
        const std::optional<config::HostPort> master = co_await discover_master(
            ioc_, options_.sentinels, options_.master_name, options_.sentinel_password,
            options_.connect_timeout, last_error_);
        if (!master) {
            co_return make_error_code(Errc::unavailable);
        }
        last_error_.clear();
        host = master->host;
        port = static_cast<std::uint16_t>(master->port);
    }
    address_ = host + ":" + std::to_string(port);
    // Resolve without blocking the worker (hiredis would call getaddrinfo itself).
    std::string ip = host;
    error_code aec;
    asio::ip::make_address(ip, aec);
    if (aec) {
        Resolver resolver{ioc_};
        auto [rec, results] =
            co_await resolver.async_resolve(host, std::to_string(port), use_nothrow);
        if (rec || results.empty()) {
            co_return rec ? rec : make_error_code(Errc::unavailable);
        }
        ip = results.begin()->endpoint().address().to_string();
    }

    redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), port);
    if (ac == nullptr) {
        co_return make_error_code(Errc::unavailable);
    }
    if (ac->err != 0) {
        redisAsyncFree(ac);
        co_return make_error_code(Errc::unavailable);
    }
    link_ = std::make_shared<Link>(ioc_, this);
    link_->ac = ac;
    ac->data = link_.get();
    ac->ev.data = link_.get();
    ac->ev.addRead = &Link::add_read;
    ac->ev.delRead = &Link::del_read;
    ac->ev.addWrite = &Link::add_write;
    ac->ev.delWrite = &Link::del_write;
    ac->ev.cleanup = &Link::cleanup;
    link_->sd.assign(ac->c.fd);
    redisAsyncSetDisconnectCallback(ac, &RedisClient::on_disconnect);
    redisAsyncSetConnectCallback(ac, &RedisClient::on_connect); // arms the first write wait

    auto link = link_;
    link->connect_event.expires_after(options_.connect_timeout);
    if (!link->connect_done) {
        co_await link->connect_event.async_wait(use_nothrow);
    }
    if (!link->connect_done || link->connect_status != REDIS_OK || link_ != link) {
        co_return make_error_code(link->connect_done ? Errc::unavailable : Errc::timeout);
    }
    if (!options_.password.empty()) {
        std::vector<std::string> auth;
        auth.emplace_back("AUTH");
        if (!options_.username.empty()) {
            auth.push_back(options_.username);
        }
        auth.push_back(options_.password);
        auto [ec, reply] = co_await send(std::move(auth));
        if (ec) {
            last_error_ = "AUTH failed: " + (ec == Errc::server_error ? reply.str : ec.message());
            co_return ec;
        }
    }
    if (options_.database != 0) {
        std::vector<std::string> select;
        select.emplace_back("SELECT");
        select.push_back(std::to_string(options_.database));
        auto [ec, reply] = co_await send(std::move(select));
        if (ec) {
            last_error_ = "SELECT " + std::to_string(options_.database) +
                          " failed: " + (ec == Errc::server_error ? reply.str : ec.message());
            co_return ec;
        }
    }
    if (!options_.master_name.empty()) {
        // The sentinels may still name the old master for a moment during a failover.
        std::vector<std::string> role;
        role.emplace_back("ROLE");
        auto [ec, reply] = co_await send(std::move(role));
        if (ec || reply.elements.empty() || reply.elements.front().str != "master") {
            last_error_ = "the sentinels name " + address_ + ", which is not a master";
            co_return make_error_code(Errc::unavailable);
        }
    }
    co_return error_code{};
}

awaitable<void> RedisClient::run(std::shared_ptr<RedisClient> self) {
    const auto kFirstBackoff = std::chrono::milliseconds(50);
    std::chrono::steady_clock::duration backoff = kFirstBackoff;
    bool reported_down = false;
    while (!self->stopped_) {
        const error_code ec = co_await self->connect_once();
        if (self->stopped_) {
            break;
        }
        if (!self->first_attempt_done_) {
            self->first_attempt_done_ = true;
            if (!ec && self->link_ && self->link_->ac != nullptr) {
                self->connected_ = true; // before waking the commands that wait for it
            }
            self->first_attempt_.cancel();
        }
        if (!ec && self->link_ && self->link_->ac != nullptr) {
            self->connected_ = true;
            backoff = kFirstBackoff;
            if (reported_down) {
                spdlog::info("redis: connected to {}", self->where());
            }
            reported_down = false;
            // Sleep until the disconnect callback (or stop) wakes us.
            self->wake_.expires_at(Timer::time_point::max());
            if (self->connected_) {
                co_await self->wake_.async_wait(use_nothrow);
            }
            self->connected_ = false;
            if (self->stopped_) {
                break;
            }
            spdlog::warn("redis: connection to {} lost, reconnecting", self->where());
            reported_down = true;
            self->drop_link();
            continue;
        }
        if (!reported_down) {
            // Logged once per outage, not per retry.
            spdlog::warn("redis: cannot connect to {}: {}", self->where(),
                         !self->last_error_.empty() ? self->last_error_
                         : ec                       ? ec.message()
                                                    : "connection closed");
            reported_down = true;
        }
        self->drop_link();
        self->wake_.expires_after(backoff);
        co_await self->wake_.async_wait(use_nothrow);
        backoff = std::min(backoff * 2, self->options_.max_backoff);
    }
    self->drop_link();
}

} // namespace portcullis::redis
