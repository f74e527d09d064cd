// The burn-up chart (apps done, failed, in progress over time), drawn with the echarts NiceGUI ships, from the
// release's timeline in the live store: one message for every tab when the release's timeline moves.
import { echarts } from "nicegui-echart";
import { channelMember, live } from "rc_live";

const SERIES = [
  ["Done", "#21ba45"],
  ["Failed", "#c10015"],
  ["In progress", "#1976d2"],
];

export default {
  mixins: [channelMember],
  props: { timeline: Object },
  computed: {
    t() {
      const stored = live.channels[this.ch]?.timeline;
      return stored && (stored.revision ?? 0) >= (this.timeline.revision ?? 0) ? stored : this.timeline;
    },
  },
  watch: {
    t() {
      this.draw();
    },
  },
  mounted() {
    this.chart = echarts.init(this.$refs.chart, null, { renderer: "canvas" });
    this.resize = new ResizeObserver(() => this.chart?.resize());
    this.resize.observe(this.$refs.chart);
    this.draw();
  },
  unmounted() {
    this.resize?.disconnect();
    this.chart?.dispose();
  },
  methods: {
    description(points) {
      // what screen readers say of the chart: short, whatever the number of points (echarts' own lists them)
      const last = points[points.length - 1];
      if (!last) return "Apps over time: no points yet.";
      return `Apps over time, ${points.length} points; latest: ${last[1]} done, ${last[2]} failed, ${last[3]} in progress.`;
    },
    draw() {
      if (!this.chart) return;
      const points = this.t.points || [];
      this.chart.setOption({
        animation: false,
        aria: { enabled: true, label: { description: this.description(points) } },
        tooltip: { trigger: "axis" },
        legend: { top: 0, data: SERIES.map((s) => s[0]), textStyle: { color: "gray" } },
        grid: { left: 40, right: 16, top: 32, bottom: 28 },
        xAxis: { type: "time" },
        yAxis: { type: "value", minInterval: 1, name: "apps" },
        series: SERIES.map(([name, color], i) => ({
          type: "line", name, stack: "apps", areaStyle: {}, showSymbol: false, step: "end", color,
          data: points.map((p) => [p[0], p[i + 1]]),
        })),
      });
    },
  },
  template: `
    <div class="rc-timeline">
      <div class="text-sm opacity-70" data-testid="timeline-note">{{ t.note }}</div>
      <div ref="chart" class="rc-timeline-chart" v-show="(t.points || []).length"></div>
    </div>`,
};
