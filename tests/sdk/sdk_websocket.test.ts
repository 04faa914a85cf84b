import { describeSdk } from "./sdk_conformance.ts";

describeSdk("websocket");
