// Trace writers for the testbench: a Perfetto / Chrome trace-event JSON
// writer for message timelines (perfetto_trace.h) and a VCD writer for the
// CMM core pins (vcd_writer.h). Both stream to a file, filter by time window
// and node, and watch their output size. docs/traces.md describes what they show.
#pragma once
#include "perfetto_trace.h"
#include "vcd_writer.h"
