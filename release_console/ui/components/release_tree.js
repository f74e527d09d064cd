// The release tree, drawn in the browser from the rows the server chose (what is expanded, which page of children)
// and the entities' views from the live store (rc_live.js): a change updates only the rows it touches, without a
// message per row and without any per-tab work on the server. Keyboard: the WAI-ARIA tree pattern (arrows move and
// open/close, Home/End, Enter selects).
import { channelMember, view, timeInState, exactTime, percent } from "rc_live";

const TYPE_ICONS = { release: "rocket_launch", wave: "waves", cluster: "hub", bundle: "inventory_2", app: "apps" };

const TreeRow = {
  props: { row: Array, ch: String, base: Object, selected: Boolean, focused: Boolean },
  emits: ["toggle", "select", "chip", "focus"],
  computed: {
    v() {
      return view(this.ch, this.row[0], this.base) || { s: "unknown", c: "grey-7", k: [] };
    },
    icon() {
      return TYPE_ICONS[this.v.t] || "circle";
    },
    since() {
      return timeInState(this.v.u);
    },
    bar() {
      const p = this.v.p;
      if (this.v.t !== "wave" || !p) return null;
      return { done: p[0], total: p[1], failed: p[2], pct: percent(p[0], p[1]) };
    },
  },
  methods: {
    exact: exactTime,
  },
  template: `
    <div role="treeitem" class="rc-row" :class="{ 'rc-selected': selected }" :data-id="row[0]"
         :aria-level="row[1] + 1" :aria-posinset="row[4]" :aria-setsize="row[5]"
         :aria-expanded="row[2] ? (row[3] ? 'true' : 'false') : null" :aria-selected="selected ? 'true' : 'false'"
         :tabindex="focused ? 0 : -1" :style="{ paddingLeft: row[1] * 1.25 + 'rem' }"
         @click="$emit('select', row[0])" @focus="$emit('focus', row[0])">
      <button v-if="row[2]" type="button" class="rc-toggle" tabindex="-1"
              :aria-label="(row[3] ? 'Collapse ' : 'Expand ') + row[0]" @click.stop="$emit('toggle', row[0])">
        <q-icon :name="row[3] ? 'expand_more' : 'chevron_right'" size="1.1rem" />
      </button>
      <span v-else class="rc-toggle-space"></span>
      <q-icon :name="icon" class="rc-type" aria-hidden="true" />
      <span class="rc-id">{{ row[0] }}</span>
      <span class="rc-badge" :class="'bg-' + v.c" :title="v.m">{{ v.s }}</span>
      <span v-if="v.e" class="rc-error" :title="v.m">{{ v.e }}</span>
      <span v-else class="rc-since" :title="'last transition ' + exact(v.u)">{{ since }}</span>
      <span class="rc-chips">
        <span v-for="k in v.k" :key="k[0]" class="rc-chip" :class="'bg-' + k[2]" role="button"
              :title="'show only ' + k[0]" @click.stop="$emit('chip', row[0], k[0])">{{ k[1] }} {{ k[0] }}</span>
      </span>
      <template v-if="bar">
        <span class="rc-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" :aria-valuenow="bar.pct"
              :aria-label="bar.done + ' of ' + bar.total + ' apps done'" :title="bar.done + '/' + bar.total + ' apps done (' + bar.pct + '%)'">
          <span :class="bar.failed ? 'bg-red-7' : 'bg-green-7'" :style="{ width: bar.pct + '%' }"></span>
        </span>
        <span class="rc-count">{{ bar.done }}/{{ bar.total }}</span>
      </template>
    </div>`,
};

export default {
  components: { TreeRow },
  mixins: [channelMember],
  props: {
    rows: Array,
    views: Object,
    selected: String,
    label: String,
  },
  data() {
    return { focusedId: null };
  },
  computed: {
    nodes() {
      return this.rows.filter((r) => typeof r[2] === "number");
    },
    current() {
      const ids = this.nodes.map((r) => r[0]);
      if (this.focusedId && ids.includes(this.focusedId)) return this.focusedId;
      if (this.selected && ids.includes(this.selected)) return this.selected;
      return ids[0];
    },
  },
  methods: {
    key(row) {
      return typeof row[2] === "number" ? row[0] : `${row[2]}|${row[3]}`;
    },
    focusRow(id) {
      this.focusedId = id;
      this.$nextTick(() => this.$el.querySelector(`[data-id="${CSS.escape(id)}"]`)?.focus());
    },
    select(id) {
      this.focusedId = id;
      this.$emit("select", { id });
    },
    onKey(event) {
      const nodes = this.nodes;
      const index = nodes.findIndex((r) => r[0] === this.current);
      if (index < 0) return;
      const row = nodes[index];
      const move = (to) => to >= 0 && to < nodes.length && this.focusRow(nodes[to][0]);
      switch (event.key) {
        case "ArrowDown":
          move(index + 1);
          break;
        case "ArrowUp":
          move(index - 1);
          break;
        case "Home":
          move(0);
          break;
        case "End":
          move(nodes.length - 1);
          break;
        case "ArrowRight":
          if (row[2] && !row[3]) this.$emit("toggle", { id: row[0] });
          else if (row[2] && index + 1 < nodes.length && nodes[index + 1][1] > row[1]) move(index + 1);
          break;
        case "ArrowLeft":
          if (row[2] && row[3]) this.$emit("toggle", { id: row[0] });
          else move(nodes.findLastIndex((r, i) => i < index && r[1] < row[1]));
          break;
        case "Enter":
        case " ":
          this.select(row[0]);
          break;
        default:
          return;
      }
      event.preventDefault();
    },
  },
  template: `
    <div role="tree" class="rc-tree" :aria-label="label" @keydown="onKey">
      <template v-for="row in rows" :key="key(row)">
        <tree-row v-if="typeof row[2] === 'number'" :row="row" :ch="ch" :base="views[row[0]]"
                  :selected="row[0] === selected" :focused="row[0] === current"
                  @toggle="(id) => $emit('toggle', { id })" @select="select"
                  @chip="(id, state) => $emit('chip', { id, state })" @focus="(id) => (focusedId = id)" />
        <div v-else-if="row[2] === 'more'" class="rc-row rc-more" :style="{ paddingLeft: row[1] * 1.25 + 'rem' }">
          <q-btn flat dense no-caps size="sm" color="primary" :label="'Show ' + row[4] + ' more (' + row[5] + ' of ' + row[6] + ' not shown)'"
                 @click="$emit('more', { id: row[3] })" />
        </div>
        <div v-else class="rc-row rc-empty" :style="{ paddingLeft: row[1] * 1.25 + 'rem' }">no children match the filter</div>
      </template>
    </div>`,
};
