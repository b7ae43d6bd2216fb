export const handler = async (event) => {
  console.log("about to fail for", event.requestContext?.connectionId);
  throw new Error("Something went wrong");
};
