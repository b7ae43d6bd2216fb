export const handler = async () => {
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  return { statusCode: 200, body: "too late" };
};
