/**
 * A CloudEvent function: the default export has a `cloudevent(event)` method.
 * Zeno's Node runtime decodes the event (binary or structured HTTP) and sends
 * what the method returns back as the reply event; returning nothing answers
 * 204 (no reply). A broker delivers the reply to the Triggers matching it.
 */
export default {
  async cloudevent(event) {
    return {
      type: process.env.REPLY_TYPE ?? 'dev.zeno.{{name}}.reply',
      source: '/functions/{{name}}',
      datacontenttype: 'application/json',
      data: { receivedType: event.type, receivedId: event.id, data: event.data ?? null },
    };
  },
};
