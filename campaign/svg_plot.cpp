#include "campaign/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <iterator>

namespace loopcheck::campaign {
namespace {

// Colour-blind-safe enough (Tableau 10), and distinct on paper.
constexpr std::array<std::string_view, 10> kPalette = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                       "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                       "#bcbd22", "#17becf"};
constexpr double kMarginLeftPx = 64;
constexpr double kMarginRightPx = 18;
constexpr double kTitleHeightPx = 24;
constexpr double kLegendRowPx = 16;
constexpr double kMarginBottomPx = 44;
constexpr double kCharWidthPx = 6.4;  // an average glyph of the 11 px sans-serif
// Beyond this a value is a corrupt input, not a count: it would only squash the
// real points into one pixel row.
constexpr double kMaxMagnitude = 1e15;
constexpr size_t kMaxMarkers = 120;  // past this, circles hide the line they mark
constexpr int kMaxTicks = 40;

using Out = std::back_insert_iterator<std::string>;

// Pixel coordinates: one decimal is below a screen's resolution and keeps the
// output stable across libm versions.
std::string px(double v) {
  if (std::fabs(v) < 0.05) v = 0;
  return fmt::format("{:.1f}", v);
}

bool usable(double v) {
  return std::isfinite(v) && std::fabs(v) <= kMaxMagnitude;
}

struct Axis {
  double lo = 0;
  double hi = 1;
  double step = 1;
};

// Bounds rounded out to a 1-2-5 step, about five ticks.
Axis nice_axis(double lo, double hi, bool integer, bool from_zero) {
  if (from_zero) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  if (!(hi > lo)) {
    const double pad = std::max(std::fabs(lo) * 0.1, 1.0);
    lo = (from_zero && lo >= 0) ? lo : lo - pad;
    hi = hi + pad;
  }
  const double raw = (hi - lo) / 5;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  if (integer) step = std::max(step, 1.0);
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
}

// The plot area inside the margins, and the mapping from data to pixels.
struct Frame {
  double left = 0, top = 0, right = 0, bottom = 0;
  Axis x, y;
  double px_x(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * (right - left); }
  double px_y(double v) const { return bottom - (v - y.lo) / (y.hi - y.lo) * (bottom - top); }
};

std::string value_label(double v) {
  const double a = std::fabs(v);
  if (a >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
  if (v == std::floor(v)) return fmt::format("{:.0f}", v);
  return fmt::format("{:.2f}", v);
}

// Shortens `text` to `max_chars` with an ellipsis; the full text goes in a <title>.
std::string fit(std::string_view text, double width_px) {
  const size_t max_chars = size_t(std::max(width_px / kCharWidthPx, 3.0));
  if (text.size() <= max_chars) return std::string(text);
  size_t cut = max_chars - 1;
  while (cut > 0 && (uint8_t(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 char
  return std::string(text.substr(0, cut)) + "\u2026";
}

void open_svg(Out out, int width_px, int height_px, std::string_view title) {
  fmt::format_to(out,
                 "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
                 "height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"{2}\" "
                 "font-family=\"sans-serif\" font-size=\"11\">\n<title>{2}</title>\n"
                 "<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n"
                 "<text x=\"{3}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" "
                 "font-weight=\"bold\">{2}</text>\n",
                 width_px, height_px, xml_escape(title), px(width_px / 2.0));
}

// The legend as rows of swatches under the title; returns the rows used.
int legend(Out out, const std::vector<std::string>& names, double width_px) {
  double x = kMarginLeftPx;
  int row = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string label = fit(names[i], width_px - kMarginLeftPx - kMarginRightPx - 16);
    const double item_px = 16 + kCharWidthPx * double(label.size()) + 14;
    if (x + item_px > width_px - kMarginRightPx && x > kMarginLeftPx) {
      x = kMarginLeftPx;
      ++row;
    }
    const double y = kTitleHeightPx + row * kLegendRowPx;
    fmt::format_to(out,
                   "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>"
                   "<text x=\"{}\" y=\"{}\">{}</text>\n",
                   px(x), px(y), kPalette[i % kPalette.size()], px(x + 14), px(y + 9),
                   xml_escape(label));
    x += item_px;
  }
  return names.empty() ? 0 : row + 1;
}

void axis_labels(Out out, const Frame& f, const PlotSpec& spec) {
  fmt::format_to(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                 px((f.left + f.right) / 2), px(f.bottom + 34), xml_escape(spec.x_label));
  const double mid_y = (f.top + f.bottom) / 2;
  fmt::format_to(out,
                 "<text x=\"14\" y=\"{0}\" text-anchor=\"middle\" "
                 "transform=\"rotate(-90 14 {0})\">{1}</text>\n",
                 px(mid_y), xml_escape(spec.y_label));
}

void y_grid(Out out, const Frame& f) {
  for (int i = 0; i <= kMaxTicks; ++i) {
    const double v = f.y.lo + i * f.y.step;
    if (v > f.y.hi + f.y.step * 1e-9) break;
    const std::string y = px(f.px_y(v));
    fmt::format_to(out,
                   "<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#e0e0e0\"/>"
                   "<text x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>\n",
                   px(f.left), px(f.right), y, px(f.left - 6), px(f.px_y(v) + 4),
                   tick_label(v, f.y.step));
  }
}

void x_tick(Out out, const Frame& f, double v, std::string_view label) {
  const std::string x = px(f.px_x(v));
  fmt::format_to(out,
                 "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#555555\"/>"
                 "<text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                 x, px(f.bottom), px(f.bottom + 4), px(f.bottom + 16), xml_escape(label));
}

void x_ticks(Out out, const Frame& f, const std::vector<std::string>& categories) {
  if (!categories.empty()) {
    // Every k-th label, so that labels do not overlap.
    const double slot_px = (f.right - f.left) / double(categories.size());
    size_t widest = 1;
    for (const std::string& c : categories) widest = std::max(widest, c.size());
    const size_t every = size_t(std::ceil(kCharWidthPx * double(widest + 1) / slot_px));
    for (size_t i = 0; i < categories.size(); i += std::max<size_t>(every, 1))
      x_tick(out, f, double(i), categories[i]);
    return;
  }
  for (int i = 0; i <= kMaxTicks; ++i) {
    const double v = f.x.lo + i * f.x.step;
    if (v > f.x.hi + f.x.step * 1e-9) break;
    x_tick(out, f, v, tick_label(v, f.x.step));
  }
}

void axes(Out out, const Frame& f) {
  fmt::format_to(
      out, "<polyline fill=\"none\" stroke=\"#555555\" points=\"{0},{1} {0},{2} {3},{2}\"/>\n",
      px(f.left), px(f.top), px(f.bottom), px(f.right));
}

void no_data(Out out, const Frame& f) {
  axes(out, f);
  fmt::format_to(out,
                 "<text class=\"no-data\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" "
                 "fill=\"#777777\">no data</text>\n",
                 px((f.left + f.right) / 2), px((f.top + f.bottom) / 2));
}

std::vector<PlotSeries> usable_points(const std::vector<PlotSeries>& series) {
  std::vector<PlotSeries> kept;
  for (const PlotSeries& s : series) {
    PlotSeries k{s.name, {}};
    for (const PlotPoint& p : s.points)
      if (usable(p.x) && usable(p.y)) k.points.push_back(p);
    kept.push_back(std::move(k));
  }
  return kept;
}

void series_line(Out out, const Frame& f, const PlotSeries& s, std::string_view colour,
                 const std::vector<std::string>& categories) {
  std::string points;
  for (const PlotPoint& p : s.points) {
    if (!points.empty()) points += ' ';
    points += px(f.px_x(p.x)) + "," + px(f.px_y(p.y));
  }
  if (s.points.size() > 1)
    fmt::format_to(out,
                   "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
                   colour, points);
  if (s.points.size() > kMaxMarkers) return;
  for (const PlotPoint& p : s.points) {
    const size_t index = size_t(std::max(p.x, 0.0));
    const bool category = p.x >= 0 && p.x == std::floor(p.x) && index < categories.size();
    const std::string x = category ? categories[index] : value_label(p.x);
    fmt::format_to(out,
                   "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"><title>{}</title></circle>\n",
                   px(f.px_x(p.x)), px(f.px_y(p.y)), colour,
                   xml_escape(fmt::format("{}: {} = {}", s.name, x, value_label(p.y))));
  }
}

}  // namespace

std::string tick_label(double value, double step) {
  step = std::fabs(step);
  if (!(step > 0) || !std::isfinite(step)) step = 1;
  if (std::fabs(value) < step * 1e-6) value = 0;
  const double scale = step >= 1e6 ? 1e6 : step >= 1e3 ? 1e3 : 1;
  const char* suffix = scale == 1e6 ? "M" : scale == 1e3 ? "k" : "";
  const double scaled_step = step / scale;
  const int decimals =
      scaled_step >= 1 ? 0 : std::min(6, int(std::ceil(-std::log10(scaled_step) - 1e-9)));
  return fmt::format("{:.{}f}{}", value / scale, decimals, suffix);
}

std::string line_plot_svg(const PlotSpec& spec) {
  const std::vector<PlotSeries> series = usable_points(spec.series);
  std::string svg;
  Out out(svg);
  open_svg(out, spec.width_px, spec.height_px, spec.title);
  std::vector<std::string> names;
  for (const PlotSeries& s : series) names.push_back(s.name);
  const int rows = legend(out, names, spec.width_px);
  Frame f{kMarginLeftPx,
          kTitleHeightPx + rows * kLegendRowPx + 8,
          spec.width_px - kMarginRightPx,
          spec.height_px - kMarginBottomPx,
          {},
          {}};
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const PlotSeries& s : series) {
    for (const PlotPoint& p : s.points) {
      x_lo = std::min(x_lo, p.x), x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y), y_hi = std::max(y_hi, p.y);
    }
  }
  axis_labels(out, f, spec);
  if (!(x_lo <= x_hi)) {
    no_data(out, f);
    return svg + "</svg>\n";
  }
  if (!spec.x_categories.empty()) {
    f.x = {-0.5, std::max(double(spec.x_categories.size()), x_hi + 1) - 0.5, 1};
  } else {
    f.x = nice_axis(x_lo, x_hi, spec.integer_x, false);
  }
  f.y = nice_axis(y_lo, y_hi, spec.integer_y, spec.y_from_zero);
  y_grid(out, f);
  x_ticks(out, f, spec.x_categories);
  axes(out, f);
  for (size_t i = 0; i < series.size(); ++i)
    series_line(out, f, series[i], kPalette[i % kPalette.size()], spec.x_categories);
  return svg + "</svg>\n";
}

namespace {

void bar(Out out, const Frame& f, size_t i, size_t n, const Bar& b) {
  const double slot_px = (f.right - f.left) / double(n);
  const double bar_px = std::min(slot_px * 0.7, 80.0);
  const double x = f.left + slot_px * (double(i) + 0.5) - bar_px / 2;
  const double y0 = f.px_y(0), y1 = f.px_y(b.value);
  fmt::format_to(out,
                 "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
                 "<title>{}</title></rect>\n",
                 px(x), px(std::min(y0, y1)), px(bar_px), px(std::fabs(y1 - y0)), kPalette[0],
                 xml_escape(fmt::format("{}: {}", b.label, value_label(b.value))));
  fmt::format_to(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                 px(x + bar_px / 2), px(std::min(y0, y1) - 4), value_label(b.value));
  fmt::format_to(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                 px(x + bar_px / 2), px(f.bottom + 16), xml_escape(fit(b.label, slot_px - 4)));
}

}  // namespace

std::string bar_chart_svg(const BarSpec& spec) {
  std::vector<Bar> bars;
  for (const Bar& b : spec.bars)
    if (usable(b.value)) bars.push_back(b);
  std::string svg;
  Out out(svg);
  open_svg(out, spec.width_px, spec.height_px, spec.title);
  Frame f{kMarginLeftPx,
          kTitleHeightPx + 8,
          spec.width_px - kMarginRightPx,
          spec.height_px - kMarginBottomPx,
          {},
          {}};
  axis_labels(out, f, PlotSpec{spec.title, spec.x_label, spec.y_label, {}, {}});
  if (bars.empty()) {
    no_data(out, f);
    return svg + "</svg>\n";
  }
  double lo = 0, hi = 0;
  for (const Bar& b : bars) lo = std::min(lo, b.value), hi = std::max(hi, b.value);
  // Headroom for the value printed above the tallest bar.
  f.y = nice_axis(lo, hi + (hi - lo) * 0.08, spec.integer_y, true);
  y_grid(out, f);
  axes(out, f);
  for (size_t i = 0; i < bars.size(); ++i) bar(out, f, i, bars.size(), bars[i]);
  return svg + "</svg>\n";
}

}  // namespace loopcheck::campaign
