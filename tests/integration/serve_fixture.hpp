#pragma once

// What the integration tests share: fake upstreams described in a few words, a config for
// them, and a fixture that runs `manifold serve` on it and drives it like a host.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "host_process.hpp"

namespace manifold::test {

// The fixed tools every fake server offers (echo, slow, crash, ...).
constexpr std::size_t fake_tool_count = 14;

struct fake {
  fake(std::string n, std::vector<std::string> f = {}, std::string e = {})
      : name(std::move(n)), flags(std::move(f)), extra(std::move(e)) {}
  std::string name;
  std::vector<std::string> flags;
  std::string extra;  // more YAML lines under the server, each indented by 4
};

inline std::string yaml_quote(const std::string& s) { return json(s).dump(); }

inline std::string config_for(const std::vector<fake>& fakes, const std::string& top = "") {
  std::string out = top + "servers:\n";
  for (const auto& f : fakes) {
    out += "  " + f.name + ":\n";
    out += "    command: " + yaml_quote(FAKE_SERVER_BIN) + "\n";
    out += "    args: [--name, " + f.name;
    for (const auto& flag : f.flags) out += ", " + yaml_quote(flag);
    out += "]\n" + f.extra;
  }
  return out;
}

class serve_fixture : public ::testing::Test {
 protected:
  host_process& start(const std::vector<fake>& fakes, const std::string& top = "",
                      const std::vector<std::string>& serve_args = {}) {
    const auto config = dir_.write("manifold.yaml", config_for(fakes, top));
    std::vector<std::string> argv{MANIFOLD_BIN, "--log-level", "debug", "serve", "--config", config};
    argv.insert(argv.end(), serve_args.begin(), serve_args.end());
    host_ = std::make_unique<host_process>(std::move(argv));
    return *host_;
  }

  static json call(host_process& h, const std::string& tool, json args = json::object()) {
    return h.request("tools/call", {{"name", tool}, {"arguments", std::move(args)}}, 30s);
  }

  static std::string text_of(const json& reply) {
    return reply.at("result").at("content").at(0).at("text").get<std::string>();
  }

  std::string pid_file(const std::string& name) const { return dir_.path() + "/" + name + ".pid"; }

  temp_dir dir_;
  std::unique_ptr<host_process> host_;
};

}  // namespace manifold::test
