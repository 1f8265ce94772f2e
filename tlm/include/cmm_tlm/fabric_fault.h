// Seeded fault injection on fabric links (issue 9 item 5). Placeholder: the
// faults helper fills this in.
#pragma once
