#pragma once

#include "tests/support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace portcullis::test {

/// The path of the built `portcullis` executable.
std::string portcullis_binary();

/// A child process started with posix_spawn, stdout and stderr going to `log_path`, stdin from
/// /dev/null. Killed (SIGKILL) and reaped on destruction if still running.
class ChildProcess {
  public:
    ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_path);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const noexcept { return pid_; }
    bool running();
    /// Sends `sig` and waits up to `timeout` for the exit. Returns the exit code, 128+signal when
    /// killed by a signal, or -1 when it did not exit in time (it is then SIGKILLed).
    int stop(int sig, std::chrono::milliseconds timeout);
    /// Waits up to `timeout` for the process to exit by itself; same return values as stop.
    int wait(std::chrono::milliseconds timeout);
    std::string log() const;
    const std::filesystem::path& log_path() const noexcept { return log_path_; }
    /// True when it has exited without stop() or wait() asking for it (a crash, an abort).
    bool exited_by_itself();
    /// "exit code N" or "signal N" once it has exited.
    std::string exit_status() const;

  private:
    pid_t pid_ = -1;
    int status_ = -1;
    bool exit_expected_ = false;
    std::filesystem::path log_path_;
};

/// A running `portcullis --conf FILE`, ready once it has logged its listening address.
class GatewayProcess {
  public:
    GatewayProcess(const std::filesystem::path& conf_path, const std::filesystem::path& log_path);
    /// Prints the end of the log to stderr when the gateway exited by itself, so a failing
    /// test shows why (a sanitizer report, an abort message).
    ~GatewayProcess();
    GatewayProcess(const GatewayProcess&) = delete;
    GatewayProcess& operator=(const GatewayProcess&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    ChildProcess& process() noexcept { return child_; }
    std::string log() const { return child_.log(); }
    /// Current and peak resident set size of the gateway, in KiB (from /proc).
    long rss_kib() const;
    long peak_rss_kib() const;

  private:
    ChildProcess child_;
    std::uint16_t port_ = 0;
};

class RedisServer;

/// A temporary gateway setup: `tyk.conf` and an `apps/` directory in a TempDir. `conf` starts
/// with test defaults (127.0.0.1, port 0, two workers, access log on) and can be edited before
/// start().
class GatewayFixture {
  public:
    GatewayFixture();
    ~GatewayFixture();

    TempDir dir;
    std::unique_ptr<RedisServer> redis; // a real redis-server the gateway's storage points at
    nlohmann::json conf;

    /// Writes `apps/<api_id>.json`.
    void add_api(const nlohmann::json& api);
    /// A keyless API proxying `listen_path` to `target_url`.
    static nlohmann::json keyless_api(const std::string& api_id,
                                      const std::string& listen_path,
                                      const std::string& target_url,
                                      bool strip_listen_path = true);
    std::filesystem::path write_conf() const;
    GatewayProcess& start();
    GatewayProcess& gateway() { return *process_; }
    std::uint16_t port() const { return process_->port(); }

  private:
    std::optional<GatewayProcess> process_;
};

/// Runs `portcullis` with `args` to completion (bounded by `timeout`): exit code and output.
struct RunResult {
    int exit_code = -1;
    std::string output;
};
RunResult run_portcullis(const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace portcullis::test
