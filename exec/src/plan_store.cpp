#include "manifold/exec/plan_store.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace manifold::exec {

namespace {

constexpr std::size_t max_spent = 1024;

void add_field(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

std::string random_id() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("no randomness for a plan id");
  }
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned bits = 0;
  int have = 0;
  for (const auto b : bytes) {
    bits = (bits << 8U) | b;
    have += 8;
    while (have >= 6) {
      have -= 6;
      out += alphabet[(bits >> static_cast<unsigned>(have)) & 63U];
    }
  }
  if (have > 0) out += alphabet[(bits << static_cast<unsigned>(6 - have)) & 63U];
  return out;  // 22 characters
}

}  // namespace

plan_store::plan_store(std::size_t capacity) : capacity_(capacity) {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
    throw std::runtime_error("no randomness for the plan key");
  }
}

plan_store::digest plan_store::mac_of(std::string_view tool,
                                      const rendered_command& command) const {
  std::string message;
  add_field(message, tool);
  add_field(message, command.binary);
  message += std::to_string(command.argv.size()) + ';';
  for (const auto& a : command.argv) add_field(message, a);
  message += command.stdin_data ? "1" : "0";
  if (command.stdin_data) add_field(message, *command.stdin_data);
  digest out{};
  unsigned int n = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(),
       &n);  // NOLINT
  return out;
}

void plan_store::make_room(clock::time_point now) {
  for (auto it = plans_.begin(); it != plans_.end();) {
    it = it->second.expires <= now ? plans_.erase(it) : std::next(it);
  }
  while (plans_.size() >= capacity_) {
    auto oldest = plans_.begin();
    for (auto it = plans_.begin(); it != plans_.end(); ++it) {
      if (it->second.expires < oldest->second.expires) oldest = it;
    }
    plans_.erase(oldest);
  }
}

std::string plan_store::issue(std::string_view tool, const rendered_command& command,
                              clock::time_point now, std::chrono::milliseconds ttl) {
  make_room(now);
  auto id = random_id();
  plans_[id] = plan{std::string(tool), mac_of(tool, command), now + ttl};
  return id;
}

plan_store::verdict plan_store::redeem(std::string_view plan_id, std::string_view tool,
                                       const rendered_command& command, clock::time_point now) {
  const auto it = plans_.find(std::string(plan_id));
  if (it == plans_.end()) {
    for (const auto& s : spent_) {
      if (s == plan_id) return verdict::spent;
    }
    return verdict::unknown;
  }
  if (it->second.expires <= now) {
    plans_.erase(it);
    return verdict::expired;
  }
  const auto mac = mac_of(tool, command);
  if (it->second.tool != tool ||
      CRYPTO_memcmp(mac.data(), it->second.mac.data(), mac.size()) != 0) {
    return verdict::other_command;
  }
  plans_.erase(it);
  spent_.emplace_back(plan_id);
  if (spent_.size() > max_spent) spent_.pop_front();
  return verdict::accepted;
}

std::string_view plan_store::describe(verdict v) {
  switch (v) {
    case verdict::accepted:
      return "accepted";
    case verdict::unknown:
      return "plan_id is unknown (run the preview tool first; plans do not survive a restart)";
    case verdict::spent:
      return "plan_id was already used (each plan runs once; preview again)";
    case verdict::expired:
      return "plan_id has expired (preview again)";
    case verdict::other_command:
      return "plan_id was issued for other arguments (preview exactly what you want to run)";
  }
  return "refused";
}

}  // namespace manifold::exec
