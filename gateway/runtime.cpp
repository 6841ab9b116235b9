#include "gateway/runtime.hpp"

#include "gateway/cluster/cluster_subscriber.hpp"
#include "gateway/common/asio.hpp"
#include "gateway/common/tls.hpp"
#include "gateway/metrics/metrics_server.hpp"
#include "gateway/server/worker.hpp"
#include "middleware/keys/token.hpp"

#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <csignal>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace portcullis {

Runtime::Runtime(config::GatewayConfig config)
    : config_(std::make_shared<const config::GatewayConfig>(std::move(config))) {}

Runtime::~Runtime() = default;

int Runtime::run() {
    // A peer that has closed its end makes a write fail with EPIPE, and raise SIGPIPE unless the
    // writer passes MSG_NOSIGNAL. Asio does; hiredis (the Redis connections) does not, so a Redis
    // connection killed or restarted under load would end the process. Ignored before any
    // thread starts: every writer then gets EPIPE and handles it as a lost connection.
    std::signal(SIGPIPE, SIG_IGN);
    control_ = std::make_unique<ControlPlane>(config_);
    auto state = control_->current();
    const auto& opts = config_->portcullis;
    unsigned count = opts.workers;
    if (count == 0) {
        count = std::max(1u, std::thread::hardware_concurrency());
    }

    // listen: the first worker binds (port 0 picks one), the rest share its port
    error_code ec;
    auto address = config_->listen_address.empty()
                       ? asio::ip::address(asio::ip::address_v4::any())
                       : asio::ip::make_address(config_->listen_address, ec);
    if (ec) {
        spdlog::critical("listen_address \"{}\" is not an IP address", config_->listen_address);
        return 2;
    }
    // TLS: the listener's certificates and the client context of HTTPS upstreams
    try {
        if (config_->http_server_options.use_ssl) {
            server_tls_ = std::make_unique<tls::ServerContexts>(config_->http_server_options);
        }
        upstream_tls_ = tls::make_upstream_context(config_->portcullis.upstream_ca_file);
    } catch (const tls::TlsError& e) {
        spdlog::critical("{}", e.what());
        return 2;
    }
    const server::Worker::Tls tls{server_tls_.get(), upstream_tls_.get()};

    std::uint16_t port = static_cast<std::uint16_t>(config_->listen_port);
    try {
        for (unsigned i = 0; i < count; ++i) {
            auto worker = std::make_unique<server::Worker>(i, state, control_.get(), tls);
            worker->listen(tcp::endpoint{address, port});
            port = worker->local_port();
            workers_.push_back(std::move(worker));
        }
    } catch (const boost::system::system_error& e) {
        spdlog::critical("cannot listen on {}:{}: {}", address.to_string(), port,
                         e.code().message());
        return 1;
    }

    // Signals are handled on the main thread; workers only see the drain request.
    asio::io_context main_ioc{1};
    asio::signal_set signals{main_ioc, SIGINT, SIGTERM};
    int received = 0;
    signals.async_wait([&](error_code, int signo) { received = signo; });

    std::vector<server::Worker*> raw;
    for (auto& worker : workers_) {
        raw.push_back(worker.get());
    }
    control_->attach(raw);
    for (auto& worker : workers_) {
        worker->start();
    }
    if (config_->secret.empty()) {
        spdlog::warn("secret is empty: the Gateway API (/tyk/) refuses every request");
    }
    spdlog::info("portcullis {} listening on {}:{}{} with {} worker(s), {} API(s) loaded",
                 PORTCULLIS_VERSION, address.to_string(), port, server_tls_ ? " (TLS)" : "", count,
                 state->router->apis().size());

    // Cluster notifications (reloads, key changes made through other nodes) over Redis pub/sub.
    cluster::ClusterSubscriber subscriber{
        config_, [this](const cluster::Notification& n) { on_notification(n); }};
    subscriber.start();

    // Prometheus metrics on their own address (never the public listener), when configured.
    std::optional<metrics::MetricsServer> metrics_server;
    if (!opts.metrics_address.empty()) {
        metrics_server.emplace(main_ioc, [this] { return collect_metrics(); });
        try {
            metrics_server->listen(opts.metrics_address);
        } catch (const std::exception& e) {
            spdlog::critical("cannot serve metrics on {}: {}", opts.metrics_address, e.what());
            for (auto& worker : workers_) {
                worker->begin_drain(std::chrono::seconds(0));
            }
            for (auto& worker : workers_) {
                worker->join();
            }
            return 1;
        }
        metrics_server->start();
        spdlog::info("metrics on http://{}/metrics (port {})", opts.metrics_address,
                     metrics_server->local_port());
    }

    main_ioc.run();
    subscriber.stop();
    spdlog::info("signal {} received: draining (deadline {}s)", received,
                 opts.drain_timeout.count());
    for (auto& worker : workers_) {
        worker->begin_drain(to_steady(opts.drain_timeout));
    }
    for (auto& worker : workers_) {
        worker->join();
    }
    spdlog::info("stopped");
    return 0;
}

std::string Runtime::collect_metrics() {
    struct Gather {
        std::mutex mutex;
        std::condition_variable cv;
        std::size_t pending = 0;
        metrics::Snapshot merged;
    };
    auto gather = std::make_shared<Gather>();
    gather->pending = workers_.size();
    for (auto& worker : workers_) {
        worker->snapshot_metrics([gather](metrics::Snapshot snapshot) {
            std::lock_guard lock(gather->mutex);
            gather->merged.merge(snapshot);
            --gather->pending;
            gather->cv.notify_all();
        });
    }
    std::unique_lock lock(gather->mutex);
    if (!gather->cv.wait_for(lock, std::chrono::seconds(2), [&] { return gather->pending == 0; })) {
        spdlog::warn("metrics: {} worker(s) did not answer in time", gather->pending);
    }
    const metrics::ProcessFigures process{control_->reloads(), notifications_.load(),
                                          static_cast<unsigned>(workers_.size())};
    return metrics::render(gather->merged, process);
}

void Runtime::on_notification(const cluster::Notification& notification) {
    notifications_.fetch_add(1, std::memory_order_relaxed);
    switch (cluster::action_for(notification.command)) {
    case cluster::Action::reload:
        spdlog::info("cluster notification {}: reloading APIs and policies", notification.command);
        control_->reload();
        break;
    case cluster::Action::flush_keys: {
        std::vector<std::string> storage_keys;
        for (const auto& key : cluster::flushed_keys(notification.payload)) {
            storage_keys.push_back(keys::storage_key(key, false)); // the key as stored
        }
        spdlog::debug("cluster notification {}: {} key(s) changed", notification.command,
                      storage_keys.size());
        for (auto& worker : workers_) {
            worker->forget_sessions(storage_keys);
        }
        break;
    }
    case cluster::Action::ignore:
        spdlog::debug("cluster notification {} ignored", notification.command);
        break;
    }
}

} // namespace portcullis
