// A page's live banner lines ([kind, text] in the channel's meta): stale data, a closed or deleted release.
import { channelMember, meta } from "rc_live";

const ICONS = { info: "info", warning: "warning", negative: "error" };

export default {
  mixins: [channelMember],
  props: { meta: Object },
  computed: {
    lines() {
      return meta(this.ch, this.meta).banner || [];
    },
  },
  template: `
    <div class="rc-banner" role="status" aria-live="polite">
      <div v-for="(line, i) in lines" :key="i" class="rc-banner-line" :class="'rc-banner-' + line[0]" :data-kind="line[0]">
        <q-icon :name="icons[line[0]] || 'info'" aria-hidden="true" />
        <span>{{ line[1] }}</span>
      </div>
    </div>`,
  data() {
    return { icons: ICONS };
  },
};
