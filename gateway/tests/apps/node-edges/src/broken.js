import { helper } from "a-package-nobody-installed";

export const handler = async () => helper();
