// Structured operational log: one line per event, JSON lines (default) or key=value, on
// stderr. Callers name the event and give fields; they must never pass PHI (names, birth
// dates, identifiers' values): name the message control id, the source, the peer address.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace phrgate::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

void set_level(Level level);
void set_json(bool json);  // false: key=value lines
bool parse_level(std::string_view text, Level& out);
bool enabled(Level level);
void write(Level level, std::string_view event, Fields fields = {});

inline void debug(std::string_view event, Fields f = {}) { if (enabled(Level::Debug)) write(Level::Debug, event, f); }
inline void info(std::string_view event, Fields f = {}) { write(Level::Info, event, f); }
inline void warn(std::string_view event, Fields f = {}) { write(Level::Warn, event, f); }
inline void error(std::string_view event, Fields f = {}) { write(Level::Error, event, f); }

}  // namespace phrgate::log
