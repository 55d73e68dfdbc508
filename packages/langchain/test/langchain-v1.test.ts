import * as langchain from "./langchain-v1";
import { langchainSuite } from "./suite";

langchainSuite(langchain);
