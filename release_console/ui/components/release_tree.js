// The release tree, drawn in the browser from the rows the server chose (what is expanded, which page of children)
// and the entities' views from the live store (rc_live.js): a change updates only the rows it touches, without a
// message per row and without any per-tab work on the server.
//
// Keyboard and screen readers: the WAI-ARIA tree pattern over the flat list of visible rows (each a treeitem with
// aria-level, aria-posinset, aria-setsize, aria-expanded, aria-selected), one tab stop (roving tabindex): Up/Down
// move to the previous/next visible row, Right opens a closed node or moves to its first child, Left closes an open
// node or moves to its parent, Home/End go to the first/last row, Enter or Space selects (the details panel shows
// the node) or, on a "show more" row, shows the next page. A row's accessible name is its id and state ("app:x,
// failed"); ids and state names are drawn isolated (<bdi>), so right-to-left names cannot reorder the row.
import { channelMember, view, timeInState, exactTime, percent } from "rc_live";

const TYPE_ICONS = { release: "rocket_launch", wave: "waves", cluster: "hub", bundle: "inventory_2", app: "apps" };
const MAX_ROW_CHIPS = 4; // a row shows its most urgent counts; the details panel lists them all

// The key of a row: its node id, or the kind and parent of a "show more" / "no match" row.
function rowKey(row) {
  return typeof row[2] === "number" ? row[0] : `${row[2]}|${row[3]}`;
}

// What a screen reader says for a node: its id and state, and for a branch the apps failed below it.
function accessibleName(id, v) {
  const parts = [id, v.s];
  const failed = v.t !== "app" && v.p ? v.p[2] : 0;
  if (failed) parts.push(`${failed} failed app${failed === 1 ? "" : "s"} below`);
  return parts.join(", ");
}

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
    name() {
      return accessibleName(this.row[0], this.v);
    },
    chips() {
      return this.v.k.slice(0, MAX_ROW_CHIPS);
    },
    hiddenChips() {
      const rest = this.v.k.slice(MAX_ROW_CHIPS);
      return rest.length ? { count: rest.length, title: rest.map((k) => `${k[1]} ${k[0]}`).join(", ") } : null;
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
    <div role="treeitem" class="rc-row" :class="{ 'rc-selected': selected }" :data-id="row[0]" :data-key="row[0]"
         :aria-label="name" :aria-level="row[1] + 1" :aria-posinset="row[4]" :aria-setsize="row[5]"
         :aria-expanded="row[2] ? (row[3] ? 'true' : 'false') : null" :aria-selected="selected ? 'true' : 'false'"
         :tabindex="focused ? 0 : -1" :style="{ paddingLeft: row[1] * 1.25 + 'rem' }"
         @click="$emit('select', row[0])" @focus="$emit('focus', row[0])">
      <span v-if="row[2]" class="rc-toggle" aria-hidden="true" :title="(row[3] ? 'Collapse ' : 'Expand ') + row[0]"
            @click.stop="$emit('toggle', row[0])">
        <q-icon :name="row[3] ? 'expand_more' : 'chevron_right'" size="1.1rem" />
      </span>
      <span v-else class="rc-toggle-space"></span>
      <q-icon :name="icon" class="rc-type" aria-hidden="true" />
      <bdi class="rc-id" :title="row[0]">{{ row[0] }}</bdi>
      <bdi class="rc-badge" :class="'bg-' + v.c" :title="v.m">{{ v.s }}</bdi>
      <bdi v-if="v.e" class="rc-error" :title="v.m">{{ v.e }}</bdi>
      <span v-else class="rc-since" :title="'last transition ' + exact(v.u)">{{ since }}</span>
      <span class="rc-chips">
        <span v-for="k in chips" :key="k[0]" class="rc-chip" :class="'bg-' + k[2]" :title="'show only ' + k[0]"
              @click.stop="$emit('chip', row[0], k[0])">{{ k[1] }} <bdi>{{ k[0] }}</bdi></span>
        <span v-if="hiddenChips" class="rc-chip rc-chip-plain" :title="hiddenChips.title">+{{ hiddenChips.count }}</span>
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
    return { focusedId: null, paging: null };
  },
  computed: {
    keys() {
      return this.rows.map(rowKey);
    },
    current() {
      // the row that takes the tree's one tab stop: the one last focused, else the selection, else the first row
      const keys = new Set(this.keys);
      if (this.focusedId && keys.has(this.focusedId)) return this.focusedId;
      if (this.selected && keys.has(this.selected)) return this.selected;
      return this.keys[0];
    },
  },
  watch: {
    rows() {
      // Runs before the new rows are drawn: if the focused row goes with them (a page shown, a branch closed from
      // elsewhere), focus moves to the row now taking the tab stop instead of falling back to the page.
      const had = this.$el.contains(document.activeElement);
      const paging = this.paging;
      this.paging = null;
      this.$nextTick(() => {
        const added = paging && this.keys.find((key) => !paging.has(key));
        if (added) this.focusRow(added);
        else if (had && !this.$el.contains(document.activeElement) && this.current) this.focusRow(this.current);
      });
    },
  },
  methods: {
    key: rowKey,
    focusRow(key) {
      this.focusedId = key;
      this.$nextTick(() => this.$el.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus());
    },
    select(id) {
      this.focusedId = id;
      this.$emit("select", { id });
    },
    more(row) {
      // the next page takes the "show more" row's place: focus goes to its first row once drawn
      this.focusedId = rowKey(row);
      this.paging = new Set(this.keys);
      this.$emit("more", { id: row[3] });
    },
    onKey(event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const rows = this.rows;
      const index = this.keys.indexOf(event.target.closest?.("[data-key]")?.dataset.key ?? this.current);
      if (index < 0) return;
      const row = rows[index];
      const node = typeof row[2] === "number";
      const move = (to) => to >= 0 && to < rows.length && this.focusRow(this.keys[to]);
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
          move(rows.length - 1);
          break;
        case "ArrowRight":
          if (node && row[2] && !row[3]) this.$emit("toggle", { id: row[0] });
          else if (node && row[2] && index + 1 < rows.length && rows[index + 1][1] > row[1]) move(index + 1);
          break;
        case "ArrowLeft":
          if (node && row[2] && row[3]) this.$emit("toggle", { id: row[0] });
          else move(rows.findLastIndex((r, i) => i < index && r[1] < row[1]));
          break;
        case "Enter":
        case " ":
          if (node) this.select(row[0]);
          else if (row[2] === "more") this.more(row);
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
        <div v-else-if="row[2] === 'more'" role="treeitem" class="rc-row rc-more" :data-key="key(row)"
             :aria-level="row[1] + 1" :tabindex="key(row) === current ? 0 : -1"
             :style="{ paddingLeft: row[1] * 1.25 + 'rem' }" @click="more(row)" @focus="focusedId = key(row)">
          <span class="rc-toggle-space"></span>
          <span class="rc-more-label">Show {{ row[4] }} more ({{ row[5] }} of {{ row[6] }} not shown)</span>
        </div>
        <div v-else role="treeitem" aria-disabled="true" class="rc-row rc-empty" :data-key="key(row)"
             :aria-level="row[1] + 1" :tabindex="key(row) === current ? 0 : -1"
             :style="{ paddingLeft: row[1] * 1.25 + 'rem' }" @focus="focusedId = key(row)">no children match the filter</div>
      </template>
    </div>`,
};
