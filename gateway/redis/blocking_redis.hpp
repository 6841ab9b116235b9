#pragma once

#include "config/gateway_config.hpp"
#include "gateway/common/blocking_resolve.hpp"
#include "gateway/redis/sentinel.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <poll.h>
#include <pthread.h>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::redis {

/// A blocking Redis connection for threads that may block: plugin host calls (bounded by the
/// plugin's deadline) and the cluster subscriber. Never used on a worker's event loop.

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

/// After a failed connect, calls fail at once for this long instead of each waiting for a
/// connect timeout (a blackholed Redis would otherwise cost every call its whole wait).
constexpr auto kBlockingReconnectBackoff = std::chrono::milliseconds(200);

struct ReplyDeleter {
    void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

/// hiredis writes with write(2): a peer that closed the connection would raise SIGPIPE, which
/// kills the process unless ignored. Blocks it on this thread and swallows one raised meanwhile.
class SigpipeGuard {
  public:
    SigpipeGuard() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigemptyset(&pending);
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~SigpipeGuard() {
        if (!was_pending_) {
            sigset_t pending;
            sigemptyset(&pending);
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                const timespec zero{0, 0};
                sigtimedwait(&pipe_, nullptr, &zero);
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

  private:
    sigset_t pipe_{};
    sigset_t old_{};
    bool was_pending_ = false;
};

/// One blocking hiredis connection, opened on first use, dropped after any I/O error or timeout
/// (the next call reconnects) and when the storage settings change.
class BlockingRedis {
  public:
    BlockingRedis() = default;
    ~BlockingRedis() { close(); }
    BlockingRedis(const BlockingRedis&) = delete;
    BlockingRedis& operator=(const BlockingRedis&) = delete;

    /// Runs one command. Null with `error` set when Redis could not answer in time or answered
    /// with an error reply.
    ReplyPtr run(const config::StorageConfig& cfg,
                 const std::vector<std::string>& args,
                 Deadline deadline,
                 std::string& error) {
        if (!ensure(cfg, deadline, error)) {
            return nullptr;
        }
        return send(cfg, args, deadline, error);
    }

    /// Puts a fresh connection in subscribe mode on `channel` (it is then used for nothing
    /// else). False with `error` set when Redis could not be reached or refused.
    bool subscribe(const config::StorageConfig& cfg,
                   const std::string& channel,
                   Deadline deadline,
                   std::string& error) {
        close();
        if (!ensure(cfg, deadline, error)) {
            return false;
        }
        const std::vector<std::string> command{"SUBSCRIBE", channel};
        if (!send(cfg, command, deadline, error)) { // the reply: ["subscribe", channel, 1]
            close();
            return false;
        }
        last_reply_ = Clock::now();
        return true;
    }

    /// On a subscribed connection: sends PING (its answer arrives as a push, which updates
    /// last_reply()). False with `error` set when the write failed (the connection is closed).
    bool ping(std::string& error) {
        if (ctx_ == nullptr) {
            error = "not connected";
            return false;
        }
        SigpipeGuard guard;
        int done = 0;
        if (redisAppendCommand(ctx_, "PING") != REDIS_OK) {
            done = -1;
        }
        while (done == 0) {
            if (redisBufferWrite(ctx_, &done) != REDIS_OK) {
                done = -1;
            }
        }
        if (done < 0) {
            error = std::string("Redis connection lost: ") + ctx_->errstr;
            close();
            return false;
        }
        return true;
    }

    /// When the subscribed connection last received anything (a message, a PING answer).
    Clock::time_point last_reply() const noexcept { return last_reply_; }

    /// On a subscribed connection, waits up to `wait` for the next message published on the
    /// channel: its payload; nullopt when none came in time (`error` empty) or when the
    /// connection failed (`error` set; the connection is closed).
    std::optional<std::string> next_message(std::chrono::milliseconds wait, std::string& error) {
        error.clear();
        if (ctx_ == nullptr) {
            error = "not connected";
            return std::nullopt;
        }
        for (bool read = false;; read = true) {
            void* raw = nullptr;
            if (redisGetReplyFromReader(ctx_, &raw) != REDIS_OK) {
                error = std::string("Redis protocol error: ") + ctx_->errstr;
                close();
                return std::nullopt;
            }
            if (raw != nullptr) {
                last_reply_ = Clock::now();
                const ReplyPtr reply(static_cast<redisReply*>(raw));
                if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
                    reply->element[0]->type == REDIS_REPLY_STRING &&
                    std::string_view(reply->element[0]->str, reply->element[0]->len) == "message" &&
                    reply->element[2]->type == REDIS_REPLY_STRING) {
                    return std::string(reply->element[2]->str, reply->element[2]->len);
                }
                continue; // a subscription confirmation or another push: not a message
            }
            if (read) {
                return std::nullopt; // a partial reply: the rest comes with the next wait
            }
            pollfd ready{ctx_->fd, POLLIN, 0};
            const int polled = ::poll(&ready, 1, static_cast<int>(wait.count()));
            if (polled <= 0) {
                return std::nullopt; // nothing in time (or a signal): the caller comes back
            }
            if (redisBufferRead(ctx_) != REDIS_OK) {
                error = std::string("Redis connection lost: ") + ctx_->errstr;
                close();
                return std::nullopt;
            }
        }
    }

  private:
    static std::chrono::steady_clock::duration storage_timeout(const config::StorageConfig& cfg) {
        return std::chrono::seconds(cfg.timeout > 0 ? cfg.timeout : 5);
    }

    /// min(deadline, now + storage timeout); nullopt when the deadline has passed.
    static std::optional<Clock::time_point> wait_limit(const config::StorageConfig& cfg,
                                                       Deadline deadline) {
        const auto now = Clock::now();
        if (now >= deadline) {
            return std::nullopt;
        }
        return std::min(deadline, now + storage_timeout(cfg));
    }

    static timeval to_timeval(Clock::duration d) {
        const auto us = std::max<std::int64_t>(
            1000, std::chrono::duration_cast<std::chrono::microseconds>(d).count());
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(us / 1000000);
        tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
        return tv;
    }

    static std::string settings_of(const config::StorageConfig& cfg) {
        return cfg.host + '\n' + std::to_string(cfg.port) + '\n' + cfg.username + '\n' +
               cfg.password + '\n' + std::to_string(cfg.database);
    }

    void close() {
        if (ctx_ != nullptr) {
            redisFree(ctx_);
            ctx_ = nullptr;
        }
    }

    bool ensure(const config::StorageConfig& cfg, Deadline deadline, std::string& error) {
        const std::string settings = settings_of(cfg);
        if (ctx_ != nullptr && settings == settings_) {
            return true;
        }
        close();
        if (Clock::now() < retry_after_ && settings == settings_) {
            error = "Redis unavailable";
            return false;
        }
        settings_ = settings;
        const auto limit = wait_limit(cfg, deadline);
        if (!limit) {
            error = "deadline exceeded";
            return false;
        }
        if (!connect(cfg, *limit, deadline, error)) {
            close();
            retry_after_ = Clock::now() + kBlockingReconnectBackoff;
            return false;
        }
        return true;
    }

    /// Under Sentinel: the master's address, from the first sentinel that names it.
    static std::optional<config::HostPort>
    discover_master(const config::StorageConfig& cfg, Deadline deadline, std::string& error) {
        error = "no sentinel configured";
        for (const auto& sentinel : cfg.sentinels) {
            config::StorageConfig probe_cfg;
            probe_cfg.host = sentinel.host;
            probe_cfg.port = sentinel.port;
            probe_cfg.password = cfg.sentinel_password;
            probe_cfg.timeout = cfg.timeout;
            BlockingRedis probe;
            ReplyPtr reply = probe.run(probe_cfg, master_query(cfg.master_name), deadline, error);
            if (!reply) {
                error = "sentinel " + sentinel.host + ":" + std::to_string(sentinel.port) + ": " +
                        error;
                continue;
            }
            if (auto master = master_from_reply(Reply::from(reply.get()))) {
                return master;
            }
            error = "sentinel " + sentinel.host + ":" + std::to_string(sentinel.port) +
                    " names no master \"" + cfg.master_name + "\"";
        }
        return std::nullopt;
    }

    bool connect(const config::StorageConfig& cfg,
                 Clock::time_point limit,
                 Deadline deadline,
                 std::string& error) {
        std::string host = cfg.host;
        int port = cfg.port;
        if (!cfg.master_name.empty()) {
            const auto master = discover_master(cfg, deadline, error);
            if (!master) {
                return false;
            }
            host = master->host;
            port = master->port;
        }
        if (port <= 0 || port > 65535) {
            error = "invalid Redis port";
            return false;
        }
        const auto endpoints =
            blocking_resolve(host, static_cast<std::uint16_t>(port), limit, error);
        if (endpoints.empty()) {
            error = "Redis host: " + error;
            return false;
        }
        // Each address in turn (a name may resolve to ::1 first while Redis listens on IPv4).
        for (const auto& endpoint : endpoints) {
            close();
            if (Clock::now() >= limit) {
                error = "Redis connect timeout";
                return false;
            }
            const std::string ip = endpoint.address().to_string();
            {
                SigpipeGuard guard;
                ctx_ = redisConnectWithTimeout(ip.c_str(), port, to_timeval(limit - Clock::now()));
            }
            if (ctx_ == nullptr) {
                error = "Redis connect failed";
            } else if (ctx_->err != 0) {
                error = std::string("Redis connect failed: ") + ctx_->errstr;
            } else {
                error.clear();
                break;
            }
        }
        if (ctx_ == nullptr || ctx_->err != 0) {
            return false;
        }
        if (!cfg.password.empty()) {
            std::vector<std::string> auth{"AUTH"};
            if (!cfg.username.empty()) {
                auth.push_back(cfg.username);
            }
            auth.push_back(cfg.password);
            if (!send(cfg, auth, deadline, error)) {
                error = "Redis AUTH failed: " + error;
                return false;
            }
        }
        if (cfg.database != 0) {
            if (!send(cfg, {"SELECT", std::to_string(cfg.database)}, deadline, error)) {
                error = "Redis SELECT failed: " + error;
                return false;
            }
        }
        return true;
    }

    ReplyPtr send(const config::StorageConfig& cfg,
                  const std::vector<std::string>& args,
                  Deadline deadline,
                  std::string& error) {
        const auto limit = wait_limit(cfg, deadline);
        if (!limit) {
            error = "deadline exceeded";
            return nullptr;
        }
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const auto& arg : args) {
            argv.push_back(arg.data());
            lengths.push_back(arg.size());
        }
        void* raw = nullptr;
        int saved_errno = 0;
        {
            SigpipeGuard guard;
            if (redisSetTimeout(ctx_, to_timeval(*limit - Clock::now())) != REDIS_OK) {
                error = "Redis connection unusable";
                close();
                return nullptr;
            }
            raw =
                redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lengths.data());
            saved_errno = errno;
        }
        ReplyPtr reply(static_cast<redisReply*>(raw));
        if (!reply) {
            const bool timed_out =
                ctx_->err == REDIS_ERR_IO &&
                (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == EINTR);
            error = timed_out ? std::string("Redis timeout")
                              : std::string("Redis I/O error: ") + ctx_->errstr;
            close();
            return nullptr;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            error = std::string(reply->str, reply->len);
            return nullptr;
        }
        return reply;
    }

    redisContext* ctx_ = nullptr;
    Clock::time_point last_reply_{};
    std::string settings_;
    Clock::time_point retry_after_{};
};

} // namespace portcullis::redis
