#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "admin_routes.hpp"
#include "listening.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/proxy/admin.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using request = http::request<http::string_body>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

bool admin_endpoints::serves(std::string_view path) const {
  if (path == "/metrics") return static_cast<bool>(metrics);
  if (path == "/admin/tap") return tap != nullptr;
  if (path == "/ui/events") return ui && events != nullptr;
  if (path == "/ui/api/status") return ui && static_cast<bool>(status);
  if (path == "/ui/api/catalog") return ui && static_cast<bool>(catalog);
  if (path == "/ui/api/calls") return ui && static_cast<bool>(calls);
  return ui && (path == "/" || observe::find_status_asset(path) != nullptr);
}

namespace {

constexpr std::chrono::seconds read_timeout{30};
constexpr std::chrono::seconds write_timeout{10};
constexpr std::chrono::milliseconds accept_backoff{100};

class admin_listener final : public admin_server {
 public:
  admin_listener(asio::any_io_executor executor, admin_listen_options options, const admin_endpoints& admin)
      : executor_(std::move(executor)), options_(std::move(options)), admin_(admin), acceptor_(executor_) {
    const auto bound = listening::open(acceptor_, options_.address, options_.port, "metrics listen");
    port_ = bound.port;
    loopback_ = bound.address.is_loopback();
  }

  [[nodiscard]] std::uint16_t port() const override { return port_; }

  asio::awaitable<void> run() override {
    while (!stopped_) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) {
        if (stopped_ || ec == asio::error::operation_aborted) break;
        asio::steady_timer wait(executor_, accept_backoff);
        co_await wait.async_wait(use_tuple);
        continue;
      }
      asio::co_spawn(executor_, serve(std::move(socket)), io::log_failure("admin connection"));
    }
  }

  void stop() override {
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    streams_.close_all();
  }

 private:
  asio::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    while (!stopped_) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(64 * 1024);
      stream.expires_after(read_timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (ec) break;
      auto req = parser.release();
      if (!co_await handle(stream, req)) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<bool> handle(beast::tcp_stream& stream, request& req) {
    const auto target = std::string_view(req.target().data(), req.target().size());
    const auto path = std::string(target.substr(0, target.find('?')));
    if (path == "/healthz") {
      co_return co_await admin_detail::reply(stream, req, admin_, http::status::ok, R"({"status":"ok"})",
                                             "application/json", write_timeout);
    }
    if (!admin_.serves(path)) {
      co_return co_await admin_detail::reply_error(stream, req, admin_, http::status::not_found,
                                                   "no such endpoint: " + protocol::log_safe(path, 200), write_timeout);
    }
    const auto host = std::string(req[http::field::host]);
    const auto origin = std::string(req[http::field::origin]);
    if (!host_allowed(host) || (!origin.empty() && !origin_allowed(origin))) {
      spdlog::warn("admin: refused Host `{}` Origin `{}`", protocol::log_safe(host, 200), protocol::log_safe(origin, 200));
      co_return co_await admin_detail::reply_error(stream, req, admin_, http::status::forbidden,
                                                   "Host or Origin not allowed", write_timeout);
    }
    if (options_.auth != nullptr && !options_.auth->is_public(path)) {
      access::header_lookup lookup = [&req](std::string_view name) -> std::optional<std::string_view> {
        const auto it = req.find(name);
        if (it == req.end()) return std::nullopt;
        return std::string_view(it->value().data(), it->value().size());
      };
      auto outcome = co_await options_.auth->authenticate(std::move(lookup));
      if (!outcome.ok()) {
        http::response<http::string_body> res{static_cast<http::status>(outcome.refused.status), req.version()};
        res.set(http::field::server, "manifold");
        res.set(http::field::content_type, "application/json");
        if (!outcome.refused.www_authenticate.empty()) {
          res.set(http::field::www_authenticate, outcome.refused.www_authenticate);
        }
        res.keep_alive(req.keep_alive());
        res.body() = protocol::serialize(
            protocol::make_error(nullptr, protocol::rpc_error::from_json(outcome.refused.json_rpc_error())));
        res.prepare_payload();
        admin_detail::count(admin_, res.result_int());
        stream.expires_after(write_timeout);
        auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
        co_return !ec && req.keep_alive();
      }
      if (!options_.auth->may_administer(*outcome.who)) {
        spdlog::info("admin: {} may not use {} (auth.admin_roles)", outcome.who->name, protocol::log_safe(path, 200));
        std::string message = "Forbidden: the admin endpoints need one of the roles";
        for (const auto& r : options_.auth->admin_roles()) message += " " + r;
        co_return co_await admin_detail::reply_error(stream, req, admin_, http::status::forbidden, std::move(message),
                                                     write_timeout);
      }
    }
    co_return co_await serve_admin(stream, req, path, admin_, streams_,
                                   std::chrono::duration_cast<std::chrono::milliseconds>(write_timeout));
  }

  [[nodiscard]] bool host_allowed(const std::string& host) const {
    return listening::host_allowed(options_.allowed_hosts, loopback_, host);
  }

  [[nodiscard]] bool origin_allowed(const std::string& origin) const {
    return listening::origin_allowed(options_.allowed_origins, origin);
  }

  asio::any_io_executor executor_;
  admin_listen_options options_;
  const admin_endpoints& admin_;
  tcp::acceptor acceptor_;
  admin_streams streams_;
  std::uint16_t port_ = 0;
  bool loopback_ = true;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<admin_server> make_admin_server(asio::any_io_executor executor, admin_listen_options options,
                                                const admin_endpoints& admin) {
  return std::make_unique<admin_listener>(std::move(executor), std::move(options), admin);
}

}  // namespace manifold::proxy
