// Accepts every connection.
exports.connect = async () => ({ statusCode: 200 });

// Answers a message with its own body (a route response).
exports.echo = async (event) => ({ statusCode: 200, body: event.body });
