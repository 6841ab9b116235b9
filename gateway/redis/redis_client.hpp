#pragma once

#include "config/gateway_config.hpp"
#include "gateway/common/asio.hpp"
#include "gateway/redis/reply.hpp"
#include "middleware/metrics/metrics.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

struct redisAsyncContext;

namespace portcullis::redis {

/// Errors of the Redis client (category "portcullis.redis").
enum class Errc {
    unavailable = 1, // not connected: the command failed fast without being sent
    timeout,         // no reply within the command deadline
    disconnected,    // the connection dropped before the reply arrived
    server_error,    // Redis answered with an error reply (text in Reply::str)
};
const boost::system::error_category& category();
error_code make_error_code(Errc e);

/// Writes `args` as one RESP command (an array of bulk strings) into `out`, replacing it.
void format_command(std::string& out, const std::vector<std::string>& args);

struct ClientOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string username;
    std::string password;
    int database = 0;
    std::chrono::steady_clock::duration command_timeout = std::chrono::seconds(5);
    std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds(5);
    /// Longest wait between reconnection attempts: Redis is found again within this long of
    /// its return (a refused loopback connect costs next to nothing).
    std::chrono::steady_clock::duration max_backoff = std::chrono::milliseconds(500);
    /// Redis Sentinel: when set, host and port are not used; every (re)connect asks the
    /// sentinels where `master_name`'s master is, and checks with ROLE that it is one.
    std::string master_name;
    std::vector<config::HostPort> sentinels;
    std::string sentinel_password;
};

/// An asynchronous Redis connection for one worker: a hiredis async context whose socket is
/// driven by the worker's io_context (no thread, no blocking call). Commands pipeline on the one
/// connection; each has a deadline. A background coroutine connects (AUTH and SELECT from the
/// options), notices disconnects and reconnects with capped exponential backoff. While not
/// connected, commands fail at once with Errc::unavailable: nothing is queued.
///
/// Thread affinity: every member runs on the io_context's thread. Lifetime: create with
/// make_shared, call start(); stop() (or destruction of the io_context) ends the loop.
class RedisClient : public std::enable_shared_from_this<RedisClient> {
  public:
    RedisClient(asio::io_context& ioc, ClientOptions options);
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    void start();
    void stop();
    bool connected() const noexcept { return connected_; }

    /// Sends one command (binary-safe arguments). On success the reply may still be a Redis
    /// error reply; `ec` is Errc::server_error then. While the first connection attempt after
    /// start() is still running (bounded by the connect timeout) a command waits for it;
    /// afterwards a command fails at once with Errc::unavailable whenever Redis is down.
    awaitable<std::pair<error_code, Reply>> command(std::vector<std::string> args);

    /// Commands sent, those that failed without an answer (down, timeout, dropped connection;
    /// not Redis error replies), and how long answers took.
    struct Stats {
        std::uint64_t commands = 0;
        std::uint64_t errors = 0;
        metrics::Histogram latency;
    };
    const Stats& stats() const noexcept { return stats_; }

    /// Consecutive command timeouts after which the connection is dropped and re-made.
    static constexpr int kTimeoutsBeforeReconnect = 3;

  private:
    Stats stats_;
    struct Link;
    struct Pending;

    static awaitable<void> run(std::shared_ptr<RedisClient> self);
    /// Under Sentinel: the master moved to `master`; leave the old one unless already there.
    void on_master_switch(const config::HostPort& master);
    awaitable<error_code> connect_once();
    /// For the log: "host:port", or the master's name and last address under Sentinel.
    std::string where() const;
    void drop_link();
    /// One command: queued by start() (null: not connected, nothing sent), awaited until its
    /// reply or deadline, then read out by finish(). send() does all three; command() does them
    /// inline, sparing a coroutine frame on every request's Redis round trip.
    std::shared_ptr<Pending> start(const std::vector<std::string>& args);
    std::pair<error_code, Reply> finish(Pending& pending);
    awaitable<std::pair<error_code, Reply>> send(std::vector<std::string> args);
    /// Fails the commands whose deadline passed (all of them once stopped), then waits for the
    /// next deadline.
    void sweep();
    void arm_deadlines();

    static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
    static void on_connect(const redisAsyncContext* ac, int status);
    static void on_disconnect(const redisAsyncContext* ac, int status);

    asio::io_context& ioc_;
    ClientOptions options_;
    std::shared_ptr<Link> link_;
    bool connected_ = false;
    bool stopped_ = false;
    int consecutive_timeouts_ = 0;
    std::string command_text_; // the RESP text of the command being sent (reused)
    std::string last_error_;   // why the last connect attempt failed, for the log
    std::string address_;      // where the connection goes ("host:port"), for the log
    Timer wake_;               // cancelled to wake the run loop (disconnect, stop)
    bool first_attempt_done_ = false;
    Timer first_attempt_; // cancelled when the first connect attempt has ended
    /// Commands sent and not yet answered, oldest first (replies come in order), for their
    /// deadlines: one timer for all of them, set to the oldest's, instead of one per command.
    std::deque<std::shared_ptr<Pending>> in_flight_;
    Timer deadlines_;
    bool deadlines_armed_ = false;
    std::shared_ptr<class SwitchWatcher> watcher_; // under Sentinel: failovers, as announced
};

} // namespace portcullis::redis

template <> struct boost::system::is_error_code_enum<portcullis::redis::Errc> : std::true_type {};
