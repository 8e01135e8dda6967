#pragma once
// The one place kvs writes log lines: spdlog (Debian's libspdlog-dev), one
// logger for the process, writing to std::cerr. KVS_LOG=debug|info|warn
// (config::log_level; default warn) sets its level when a store or a node
// starts; the level is the process's, the last one set wins.
#include <string>

namespace kvs::detail::log {

// Throws kvs::error invalid_config for anything but debug, info, warn.
void set_level(const std::string& level);
void debug(const std::string& line);
void info(const std::string& line);
void warn(const std::string& line);
void error(const std::string& line);

}  // namespace kvs::detail::log
