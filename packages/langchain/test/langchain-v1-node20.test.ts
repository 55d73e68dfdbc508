import * as langchain from "@tagalong/compat-langchain-v1-node20";
import { langchainSuite } from "./suite";

langchainSuite(langchain);
