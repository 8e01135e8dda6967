#include "core/log.hpp"

#include <iostream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "kvs/error.hpp"

namespace kvs::detail::log {

namespace {
// std::cerr, so what a test captures of it includes the log; one line per
// event, as the lines always read ("kvs: ...").
spdlog::logger& logger() {
  static auto instance = [] {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cerr, true);
    auto l = std::make_shared<spdlog::logger>("kvs", sink);
    l->set_pattern("%v");
    l->set_level(spdlog::level::warn);
    return l;
  }();
  return *instance;
}
}  // namespace

void set_level(const std::string& level) {
  if (level == "debug")
    logger().set_level(spdlog::level::debug);
  else if (level == "info")
    logger().set_level(spdlog::level::info);
  else if (level == "warn" || level.empty())
    logger().set_level(spdlog::level::warn);
  else
    throw kvs::error(errc::invalid_config,
                "KVS_LOG=\"" + level + "\": expected debug, info or warn");
}

void debug(const std::string& line) { logger().debug(line); }
void info(const std::string& line) { logger().info(line); }
void warn(const std::string& line) { logger().warn(line); }
void error(const std::string& line) { logger().error(line); }

}  // namespace kvs::detail::log
