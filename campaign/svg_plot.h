// Small inline-SVG charts for the campaign report (campaign/html_report): a line
// plot of named series and a bar chart. The report is a static folder opened from
// disk or a CI artifact store, so a chart is plain SVG markup — no script, no
// external font or stylesheet — and the same input gives the same bytes (numbers
// are printed with a fixed precision), so two reports of equal results diff clean.
#pragma once

#include "campaign/xml_escape.h"

#include <string>
#include <string_view>
#include <vector>

namespace loopcheck::campaign {

struct PlotPoint {
  double x = 0;
  double y = 0;
};

struct PlotSeries {
  std::string name;  // the legend's text
  std::vector<PlotPoint> points;
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotSeries> series;
  // When set, the x axis is categorical: point x values are indices into these
  // labels (nights, say) and the axis shows the labels instead of numbers.
  std::vector<std::string> x_categories;
  bool integer_x = false;  // counts and sample numbers: no ticks between integers
  bool integer_y = false;
  bool y_from_zero = true;  // counts read wrong on an axis that does not start at 0
  int width_px = 600;
  int height_px = 300;
};

struct Bar {
  std::string label;
  double value = 0;
};

struct BarSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Bar> bars;
  bool integer_y = true;
  int width_px = 600;
  int height_px = 300;
};

// `<svg class="plot" ...>...</svg>`. Non-finite points are left out; a plot with no
// point (or a chart with no bar) still renders its frame with a "no data" note.
std::string line_plot_svg(const PlotSpec& spec);
std::string bar_chart_svg(const BarSpec& spec);

// A tick label: `value` with as many decimals as `step` needs, and a k/M suffix for
// large magnitudes ("120k", "1.5M"); "-0" never appears.
std::string tick_label(double value, double step);

}  // namespace loopcheck::campaign
