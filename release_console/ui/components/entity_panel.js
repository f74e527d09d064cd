// The details panel of the selected node: its view and details from the live store (rc_live.js), so a change of
// the node shows at once in every tab that has it selected, without a message per tab. Its count chips are buttons
// (what a click on a tree row's chip does, reachable by Tab: the tree's rows have one tab stop, their chips none).
import { channelMember, view, live, timeAgo, exactTime, percent } from "rc_live";

export default {
  mixins: [channelMember],
  props: { base: Object, detail: Object },
  emits: ["select", "chip"],
  computed: {
    v() {
      return this.base ? view(this.ch, this.base.id, this.base) : null;
    },
    d() {
      if (!this.detail) return null;
      const stored = live.channels[this.ch]?.details?.[this.detail.id];
      return stored && stored.ver >= this.detail.ver ? stored : this.detail;
    },
    p() {
      if (!this.v || !this.v.p) return null;
      const [done, total, failed] = this.v.p;
      return { done, total, failed, pct: percent(done, total) };
    },
  },
  methods: { timeAgo, exactTime },
  template: `
    <div class="rc-panel" aria-label="Details of the selected node" role="region">
      <div v-if="!v" class="opacity-70">Select a node to see its details.</div>
      <template v-else>
        <bdi class="rc-panel-id" data-testid="panel-id">{{ v.id }}</bdi>
        <div class="rc-line">
          <span class="rc-type-name">{{ v.t }}</span>
          <bdi class="rc-badge" :class="'bg-' + v.c" data-testid="panel-state">{{ v.s }}</bdi>
        </div>
        <div class="text-sm opacity-80">{{ v.m }}</div>
        <dl class="rc-facts">
          <dt>Last transition</dt><dd>{{ exactTime(v.u) }} ({{ timeAgo(v.u) }})</dd>
          <dt>Parent</dt>
          <dd><a v-if="d && d.parent" href="#" class="rc-link" @click.prevent="$emit('select', { id: d.parent })">{{ d.parent }}</a><span v-else>—</span></dd>
          <dt>Children</dt><dd>{{ d ? d.children : 0 }}</dd>
          <template v-if="p">
            <dt>Apps done</dt>
            <dd class="rc-line">
              <span class="rc-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" :aria-valuenow="p.pct"
                    :aria-label="p.done + ' of ' + p.total + ' apps done'">
                <span :class="p.failed ? 'bg-red-7' : 'bg-green-7'" :style="{ width: p.pct + '%' }"></span>
              </span>
              <span>{{ p.done }}/{{ p.total }}</span>
            </dd>
          </template>
        </dl>
        <div v-for="[typeName, chips] in (d ? d.counts : [])" :key="typeName" class="rc-line">
          <span class="rc-type-name rc-w14">{{ typeName }}</span>
          <span class="rc-chips rc-wrap"><button v-for="k in chips" :key="k[0]" type="button" class="rc-chip"
                :class="'bg-' + k[2]" :title="'show only ' + k[0] + ' below ' + v.id"
                @click="$emit('chip', { id: v.id, state: k[0] })">{{ k[1] }} <bdi>{{ k[0] }}</bdi></button></span>
        </div>
        <div v-if="d" class="rc-history" data-testid="entity-history">
          <div class="text-sm font-bold">Recent transitions</div>
          <div v-if="!d.history.length" class="text-sm opacity-70">No transition recorded in the kept change log.</div>
          <div v-for="h in d.history" :key="h[3]" class="rc-line text-sm">
            <span class="rc-badge" :class="'bg-' + h[1]">{{ h[0] }}</span>
            <span :title="exactTime(h[2])">{{ timeAgo(h[2]) }}</span>
            <span class="text-xs opacity-70">v{{ h[3] }}</span>
          </div>
          <div class="text-xs opacity-70">{{ d.note }}</div>
        </div>
      </template>
    </div>`,
};
