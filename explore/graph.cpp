// write_lifecycle_dot (see explore_graph.h).
#include "explore/graph.h"
#include "trace/classify.h"

#include <boost/graph/adjacency_list.hpp>
#include <map>
#include <set>
#include <string>

namespace loopcheck::model {

namespace {

struct VertexInfo {
  std::string label;
};
struct EdgeInfo {
  std::string label;
};
using Graph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, VertexInfo, EdgeInfo>;

// DOT-quoted: Boost writes attribute values as given.
std::string quoted(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

}  // namespace

void write_lifecycle_dot(const ExploreResult& result, std::ostream& out) {
  // Vertices in class order, edges in (pre, post) order: deterministic output.
  std::map<AbstractClass, std::set<std::string>> self_loops;
  std::map<std::pair<AbstractClass, AbstractClass>, std::set<std::string>> moves;
  for (const auto& [key, wit] : result.edges) {
    const std::string what = op_label_name(key.label) + " => " + errno_class_name(key.outcome);
    self_loops[key.pre];
    self_loops[key.post];
    if (key.pre == key.post)
      self_loops[key.pre].insert(what);
    else
      moves[{key.pre, key.post}].insert(what);
  }
  Graph g;
  std::map<AbstractClass, Graph::vertex_descriptor> vertex;
  for (const auto& [cls, loops] : self_loops) {
    const std::string name = cls == 0 ? std::string("no device") : abstract_class_name(cls);
    vertex[cls] = boost::add_vertex(
        VertexInfo{name + "\n(" + std::to_string(loops.size()) + " self-loops)"}, g);
  }
  for (const auto& [ends, whats] : moves) {
    std::string label;
    for (const std::string& w : whats) label += (label.empty() ? "" : "\n") + w;
    boost::add_edge(vertex[ends.first], vertex[ends.second], EdgeInfo{label}, g);
  }
  // DOT by hand over vertices() and out_edges(): boost::write_graphviz's edge
  // iterator trips GCC 12's -Wmaybe-uninitialized at -O3.
  out << "digraph lifecycle {\nrankdir=LR;\nnode [shape=box, fontname=\"Helvetica\"];\n"
         "edge [fontname=\"Helvetica\", fontsize=9];\n";
  for (auto [v, v_end] = boost::vertices(g); v != v_end; ++v)
    out << *v << " [label=" << quoted(g[*v].label) << "];\n";
  for (auto [v, v_end] = boost::vertices(g); v != v_end; ++v)
    for (auto [e, e_end] = boost::out_edges(*v, g); e != e_end; ++e)
      out << boost::source(*e, g) << " -> " << boost::target(*e, g)
          << " [label=" << quoted(g[*e].label) << "];\n";
  out << "}\n";
}

}  // namespace loopcheck::model
