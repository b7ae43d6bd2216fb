export const handler = async (event) => ({ statusCode: 200, body: `hello ${event.body}` });
