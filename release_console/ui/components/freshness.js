// "updated 3 s ago": how old the shown data is, from the channel's freshness in the live store (moved by the
// server's heartbeat) and the page's own clock; a warning once it is older than ``staleAfter`` seconds.
import { channelMember, meta, live, duration } from "rc_live";

function confirmed(ms) {
  if (!ms) return "never";
  return new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC");
}

export default {
  mixins: [channelMember],
  props: { meta: Object },
  computed: {
    m() {
      return meta(this.ch, this.meta);
    },
    final() {
      return this.m.status && this.m.status !== "running";
    },
    age() {
      return this.m.asOf ? Math.max(0, (live.now - this.m.asOf) / 1000) : null;
    },
    stale() {
      return !this.final && (this.age === null || this.age > (this.m.staleAfter || 5));
    },
    text() {
      if (this.final) return `final state (workflow ${this.m.status})`;
      const base = this.age === null ? "no data yet" : `updated ${duration(this.age)} ago`;
      return this.stale ? `stale: ${base}` : base;
    },
    tip() {
      const at = `last confirmed with Temporal at ${confirmed(this.m.asOf)}`;
      return this.m.version === undefined || this.m.version === null ? at : `state version ${this.m.version} · ${at}`;
    },
  },
  template: `
    <span class="rc-freshness" :class="{ 'rc-stale': stale }" :title="tip" role="status">
      <q-icon :name="final ? 'flag' : stale ? 'warning' : 'sync'" size="1rem" aria-hidden="true" />{{ text }}
    </span>`,
};
