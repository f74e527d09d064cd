// The release page's header status: the release's state badge, progress bar and "N/M apps done (p%)", from the
// release's view in the live store (rc_live.js).
import { channelMember, view, percent } from "rc_live";

export default {
  mixins: [channelMember],
  props: { root: Object },
  computed: {
    v() {
      return view(this.ch, this.root.id, this.root);
    },
    p() {
      const [done, total, failed] = this.v.p || [0, 0, 0];
      return { done, total, failed, pct: percent(done, total) };
    },
  },
  template: `
    <span class="rc-status">
      <span class="rc-badge rc-badge-lg" :class="'bg-' + v.c" :title="v.m" data-testid="release-state">{{ v.s }}</span>
      <span class="rc-bar rc-bar-wide" role="progressbar" aria-valuemin="0" aria-valuemax="100" :aria-valuenow="p.pct"
            :aria-label="p.done + ' of ' + p.total + ' apps done'" :title="v.lbl">
        <span :class="p.failed ? 'bg-red-7' : 'bg-green-7'" :style="{ width: p.pct + '%' }"></span>
      </span>
      <span class="rc-progress" data-testid="release-progress">{{ v.lbl }}</span>
    </span>`,
};
