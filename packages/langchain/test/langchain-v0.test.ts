import * as langchain from "@tagalong/compat-langchain-v0";
import { langchainSuite } from "./suite";

langchainSuite(langchain);
