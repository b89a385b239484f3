// CloudEvent handler: replies to com.example.ping with com.example.pong, to anything else with nothing.
export default {
  cloudevent(event) {
    if (event.type !== 'com.example.ping') return undefined;
    return { type: 'com.example.pong', source: '/zeno/test', data: { got: event.data, id: event.id } };
  },
};
