#include "cmm_tlm/fabric_fault.h"
