#include "tests/support/gateway_process.hpp"

#include "tests/support/redis_server.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <regex>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace portcullis::test {

std::string portcullis_binary() {
    return PORTCULLIS_BINARY;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::filesystem::path& log_path)
    : log_path_(log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw std::runtime_error("posix_spawn " + argv[0] + " failed: " + std::strerror(rc));
    }
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0 && running()) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
    }
}

bool ChildProcess::running() {
    if (pid_ <= 0 || status_ != -1) {
        return false;
    }
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        status_ = status;
        return false;
    }
    return true;
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
    exit_expected_ = true;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status_, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (WIFEXITED(status_)) {
        return WEXITSTATUS(status_);
    }
    if (WIFSIGNALED(status_)) {
        return 128 + WTERMSIG(status_);
    }
    return -1;
}

int ChildProcess::stop(int sig, std::chrono::milliseconds timeout) {
    if (running()) {
        ::kill(pid_, sig);
    }
    return wait(timeout);
}

std::string ChildProcess::log() const {
    return read_file(log_path_);
}

bool ChildProcess::exited_by_itself() {
    return !exit_expected_ && pid_ > 0 && !running();
}

std::string ChildProcess::exit_status() const {
    if (status_ == -1) {
        return "still running";
    }
    if (WIFSIGNALED(status_)) {
        return "signal " + std::to_string(WTERMSIG(status_));
    }
    return "exit code " + std::to_string(WEXITSTATUS(status_));
}

GatewayProcess::GatewayProcess(const std::filesystem::path& conf_path,
                               const std::filesystem::path& log_path)
    : child_({portcullis_binary(), "--conf", conf_path.string()}, log_path) {
    static const std::regex kListening{R"(listening on [^ ]+:(\d+)(?: \(TLS\))? with)"};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        const std::string text = child_.log();
        std::smatch m;
        if (std::regex_search(text, m, kListening)) {
            port_ = static_cast<std::uint16_t>(std::stoi(m[1].str()));
            return;
        }
        if (!child_.running()) {
            throw std::runtime_error("portcullis exited during startup:\n" + text);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("portcullis did not start listening:\n" + child_.log());
}

GatewayProcess::~GatewayProcess() {
    if (!child_.exited_by_itself()) {
        return;
    }
    constexpr std::size_t kTail = 16 * 1024;
    const std::string text = child_.log();
    std::fprintf(stderr, "portcullis (pid %d) exited by itself, %s; the end of its log:\n%s\n",
                 static_cast<int>(child_.pid()), child_.exit_status().c_str(),
                 text.substr(text.size() > kTail ? text.size() - kTail : 0).c_str());
}

namespace {

long proc_status_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            return std::stol(line.substr(field.size() + 1));
        }
    }
    return -1;
}

} // namespace

long GatewayProcess::rss_kib() const {
    return proc_status_kib(child_.pid(), "VmRSS");
}

long GatewayProcess::peak_rss_kib() const {
    return proc_status_kib(child_.pid(), "VmHWM");
}

GatewayFixture::GatewayFixture() : redis(std::make_unique<RedisServer>()) {
    conf = {
        {"listen_address", "127.0.0.1"},
        {"listen_port", 0},
        {"secret", "test-secret"},
        {"app_path", (dir.path() / "apps").string()},
        {"storage", {{"type", "redis"}, {"host", "127.0.0.1"}, {"port", redis->port()}}},
        {"portcullis", {{"workers", 2}, {"access_log", "off"}, {"log_level", "info"}}},
    };
    std::filesystem::create_directories(dir.path() / "apps");
}

GatewayFixture::~GatewayFixture() {
    process_.reset();
}

void GatewayFixture::add_api(const nlohmann::json& api) {
    dir.write("apps/" + api.at("api_id").get<std::string>() + ".json", api.dump(2));
}

nlohmann::json GatewayFixture::keyless_api(const std::string& api_id,
                                           const std::string& listen_path,
                                           const std::string& target_url,
                                           bool strip_listen_path) {
    return {
        {"api_id", api_id},
        {"org_id", "default"},
        {"name", api_id},
        {"use_keyless", true},
        {"active", true},
        {"proxy",
         {{"listen_path", listen_path},
          {"target_url", target_url},
          {"strip_listen_path", strip_listen_path}}},
        {"version_data",
         {{"not_versioned", true}, {"versions", {{"Default", {{"name", "Default"}}}}}}},
    };
}

std::filesystem::path GatewayFixture::write_conf() const {
    return dir.write("tyk.conf", conf.dump(2));
}

GatewayProcess& GatewayFixture::start() {
    process_.emplace(write_conf(), dir.path() / "gateway.log");
    return *process_;
}

RunResult run_portcullis(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    TempDir tmp;
    std::vector<std::string> argv{portcullis_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess child{argv, tmp.path() / "out.log"};
    RunResult result;
    result.exit_code = child.wait(timeout);
    result.output = child.log();
    return result;
}

} // namespace portcullis::test
