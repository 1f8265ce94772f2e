#include "core_model.h"

namespace cmm::dv {

void RefModel::edge(const PinsIn& in, bool rst_n) {
  if (!rst_n) {
    core_.reset();
  } else {
    core_.step(in);
  }
}

}  // namespace cmm::dv
