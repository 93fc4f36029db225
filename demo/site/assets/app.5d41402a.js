console.log("pulse demo");
