#pragma once

// Redis Sentinel (storage.master_name): finding the master the sentinels name. The async client
// asks on every (re)connect, so a failover is followed as soon as the old connection fails or the
// old master refuses writes; the blocking connections ask the same way when they reconnect.

#include "config/gateway_config.hpp"
#include "gateway/common/asio.hpp"
#include "gateway/common/deadline_stream.hpp"
#include "gateway/redis/reply.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace portcullis::redis {

/// The command asking a sentinel for `master_name`'s address.
std::vector<std::string> master_query(const std::string& master_name);

/// The address in a sentinel's answer to master_query ([host, port]); nullopt when the sentinel
/// does not know the master (nil) or answered something else.
std::optional<config::HostPort> master_from_reply(const Reply& reply);

/// Asks each of `sentinels` in turn (connect, AUTH with `password` when set, and answer within
/// `timeout` each) and returns the first master address named. nullopt with `error` set when no
/// sentinel named one.
awaitable<std::optional<config::HostPort>>
discover_master(asio::io_context& ioc,
                const std::vector<config::HostPort>& sentinels,
                const std::string& master_name,
                const std::string& password,
                std::chrono::steady_clock::duration timeout,
                std::string& error);

/// Whether an error reply says the server is a replica now (a failover demoted it).
bool is_readonly_error(const Reply& reply);

/// The new address in a sentinel's "+switch-master" announcement for `master_name`
/// ("<name> <old ip> <old port> <new ip> <new port>"); nullopt for another master.
std::optional<config::HostPort> switched_master(const std::string& message,
                                                const std::string& master_name);

/// Listens to a sentinel's "+switch-master" announcements (the first sentinel that answers,
/// another after a failure) and calls `on_switch` with the master's new address as soon as a
/// failover is done, so connections leave the old master at once instead of when it next fails
/// or refuses a write. Runs on `ioc`'s thread until stop().
class SwitchWatcher : public std::enable_shared_from_this<SwitchWatcher> {
  public:
    SwitchWatcher(asio::io_context& ioc,
                  std::vector<config::HostPort> sentinels,
                  std::string master_name,
                  std::string password,
                  std::chrono::steady_clock::duration connect_timeout,
                  std::function<void(const config::HostPort&)> on_switch);
    ~SwitchWatcher();

    void start();
    void stop();

  private:
    static awaitable<void> run(std::shared_ptr<SwitchWatcher> self);
    /// Subscribes on `sentinel` and reports switches until the connection fails or stop().
    awaitable<void> listen(const config::HostPort& sentinel);

    asio::io_context& ioc_;
    std::vector<config::HostPort> sentinels_;
    std::string master_name_;
    std::string password_;
    std::chrono::steady_clock::duration connect_timeout_;
    std::function<void(const config::HostPort&)> on_switch_;
    std::unique_ptr<DeadlineStream> stream_; // the subscribed connection, if any
    Timer backoff_;
    bool stopped_ = false;
};

} // namespace portcullis::redis
