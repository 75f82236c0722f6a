console.log("streamflow");
