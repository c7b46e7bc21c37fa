// The lifecycle graph: abstract state classes (explore_abstract.h) as vertices,
// and for each pair of classes one edge listing every (operation => outcome) that
// leads from one to the other. Built with Boost.Graph, written as DOT.
// Transitions that stay in their class (failed ioctls, reads, opens of an already
// open device that keep the opener bucket) are left out of the drawing — they are
// the bulk of the edges and would hide the lifecycle — but each vertex says how
// many (operation, outcome) pairs loop on it.
#pragma once

#include <ostream>

#include "explore/explore.h"

namespace loopcheck::model {

void write_lifecycle_dot(const ExploreResult& result, std::ostream& out);

}  // namespace loopcheck::model
