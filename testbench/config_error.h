// The one exception type of bad configuration: its message names the source,
// the key, the offending value and what is allowed.
#pragma once
#include <stdexcept>

namespace cmm::tb {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace cmm::tb
