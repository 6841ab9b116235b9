#include "gateway/runtime.hpp"

#include "gateway/cluster/cluster_subscriber.hpp"
#include "gateway/common/asio.hpp"
#include "gateway/server/worker.hpp"

#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <thread>

namespace portcullis {

Runtime::Runtime(config::GatewayConfig config)
    : config_(std::make_shared<const config::GatewayConfig>(std::move(config))) {}

Runtime::~Runtime() = default;

int Runtime::run() {
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
    std::uint16_t port = static_cast<std::uint16_t>(config_->listen_port);
    try {
        for (unsigned i = 0; i < count; ++i) {
            auto worker = std::make_unique<server::Worker>(i, state, control_.get());
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
    spdlog::info("portcullis {} listening on {}:{} with {} worker(s), {} API(s) loaded",
                 PORTCULLIS_VERSION, address.to_string(), port, count,
                 state->router->apis().size());

    // Cluster notifications (reloads, key changes made through other nodes) over Redis pub/sub.
    cluster::ClusterSubscriber subscriber{
        config_, [this](const cluster::Notification& n) { on_notification(n); }};
    subscriber.start();

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

void Runtime::on_notification(const cluster::Notification& notification) {
    switch (cluster::action_for(notification.command)) {
    case cluster::Action::reload:
        spdlog::info("cluster notification {}: reloading APIs and policies", notification.command);
        control_->reload();
        break;
    case cluster::Action::flush_keys: {
        std::vector<std::string> storage_keys;
        for (const auto& key : cluster::flushed_keys(notification.payload)) {
            storage_keys.push_back("apikey-" + key);
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
